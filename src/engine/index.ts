// The Docker engine a component's docker provider points at: how to reach it, and waiting there
// for a container's health check.
export { connectEngine } from "./connection";
export type { Engine, EngineConnection, ResolvedEngine } from "./connection";
export { waitUntilHealthy } from "./health";
export type { HealthWaitOptions, HealthWaitResult } from "./health";
export { HealthyContainer } from "./healthy-container";
export type { HealthyContainerArgs } from "./healthy-container";
