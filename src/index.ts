export * from "./auth";
export * from "./images";
export * from "./registry";
export * from "./tls";
export * from "./trust";
