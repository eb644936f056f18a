export * from "./auth";
export * from "./common";
export * from "./engine";
export * from "./images";
export * from "./registry";
export * from "./service";
export * from "./tls";
export * from "./trust";
