export { BoundedMap, messageKey } from "./bounded-map.js";
export { ConnectionPlanner, type ConnectionPlan, type ConnectionPlannerOptions } from "./connection-planner.js";
export { Plumtree, type Announcement, type MessageRef, type PlumtreeOptions, type TreeMessage, type TreeStats } from "./plumtree.js";
export { NO_ROUTE, RouteTable, type Route, type RouteTableOptions } from "./route-table.js";
export { REAL_TIMERS, type MeshTimers } from "./timers.js";
