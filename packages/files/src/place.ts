/**
 * Putting a finished download in place: under its name, or `name (1)`, ...,
 * never replacing an existing file, even against a race.
 */

import { constants } from "node:fs";
import { copyFile, link, unlink } from "node:fs/promises";
import { extname, join } from "node:path";

/** Errors of link() on a file system without hard links. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EXDEV", "ENOSYS"]);

/** Moves `tmpPath` to `dir/name`, or `name (1)`, ... without ever replacing an existing file (hard link, else an exclusive copy, so no race can overwrite one); returns where. Used by downloads here and by `@xppg/node`'s pushed files. */
export async function placeUnique(tmpPath: string, dir: string, name: string): Promise<string> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 0; i < 1000; i++) {
    const candidate = join(dir, i === 0 ? name : `${stem} (${i})${ext}`);
    if (await placeAt(tmpPath, candidate)) return candidate;
  }
  throw new Error(`too many files named like "${name}" in ${dir}`);
}

async function placeAt(tmpPath: string, path: string): Promise<boolean> {
  try {
    try {
      await link(tmpPath, path);
    } catch (error) {
      if (!NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
      await copyFile(tmpPath, path, constants.COPYFILE_EXCL);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  await unlink(tmpPath);
  return true;
}
