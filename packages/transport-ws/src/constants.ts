/** The transport's name; it dials `ws://` and `wss://` addresses. */
export const WS_TRANSPORT_NAME = "ws";

/** The address form, for error messages. */
export const WS_ADDRESS_FORM = "ws://host:port/path (ws://127.0.0.1:7338/xppg, ws://[::1]:7338/)";

// The close codes one by one: a bundler writes their numbers where they are used.
/** A clean close. */
export const CLOSE_NORMAL = 1000;
/** The endpoint is going away (a browser leaving the page, a server shutting down). */
export const CLOSE_GOING_AWAY = 1001;
/** The peer broke the WebSocket protocol. */
export const CLOSE_PROTOCOL_ERROR = 1002;
/** A message of a type the endpoint does not accept (text, here). */
export const CLOSE_UNSUPPORTED_DATA = 1003;
/** Reserved: the close frame had no code. */
export const CLOSE_NO_STATUS = 1005;
/** Reserved: the connection dropped without a close frame. */
export const CLOSE_ABNORMAL = 1006;
/** Text that is not valid UTF-8. */
export const CLOSE_INVALID_PAYLOAD = 1007;
/** A message that violates the endpoint's policy. */
export const CLOSE_POLICY_VIOLATION = 1008;
/** A message over the endpoint's size limit (`maxFrameSize`). */
export const CLOSE_MESSAGE_TOO_BIG = 1009;
/** The endpoint hit an unexpected condition. */
export const CLOSE_INTERNAL_ERROR = 1011;
/** xppg: the sender closed with an xppg error; the reason holds its code. */
export const CLOSE_XPPG_ERROR = 4000;

/**
 * WebSocket close codes this transport sends and reads
 * ([RFC 6455 §7.4.1](https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1)).
 */
export const WS_CLOSE_CODES = {
  /** A clean close. */
  NORMAL: CLOSE_NORMAL,
  /** The endpoint is going away (a browser leaving the page, a server shutting down). */
  GOING_AWAY: CLOSE_GOING_AWAY,
  /** The peer broke the WebSocket protocol. */
  PROTOCOL_ERROR: CLOSE_PROTOCOL_ERROR,
  /** A message of a type the endpoint does not accept (text, here). */
  UNSUPPORTED_DATA: CLOSE_UNSUPPORTED_DATA,
  /** Reserved: the close frame had no code. */
  NO_STATUS: CLOSE_NO_STATUS,
  /** Reserved: the connection dropped without a close frame. */
  ABNORMAL: CLOSE_ABNORMAL,
  /** Text that is not valid UTF-8. */
  INVALID_PAYLOAD: CLOSE_INVALID_PAYLOAD,
  /** A message that violates the endpoint's policy. */
  POLICY_VIOLATION: CLOSE_POLICY_VIOLATION,
  /** A message over the endpoint's size limit (`maxFrameSize`). */
  MESSAGE_TOO_BIG: CLOSE_MESSAGE_TOO_BIG,
  /** The endpoint hit an unexpected condition. */
  INTERNAL_ERROR: CLOSE_INTERNAL_ERROR,
  /** xppg: the sender closed with an xppg error; the reason holds its code. */
  XPPG_ERROR: CLOSE_XPPG_ERROR,
} as const;

/** Default time a listener gives a socket from accept to a finished HTTP upgrade. */
export const DEFAULT_UPGRADE_TIMEOUT_MS = 5_000;

/** Default most sockets a listener holds before their upgrade is done. */
export const DEFAULT_MAX_PENDING_CONNECTIONS = 64;

/**
 * Default most bytes a page's connection holds for a paused reader (its
 * WebSocket cannot stop reading). See the README ("In browsers") for the
 * measurement behind it.
 */
export const DEFAULT_MAX_HELD_BYTES = 64 * 1024 * 1024;
