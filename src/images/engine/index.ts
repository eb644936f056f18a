// Docker Engine I/O for the images module: inspection, flattening, dynamic providers.
export * from "./flatten";
export * from "./inspect";
export * from "./plan";
export * from "./progress";
export * from "./providers";
export * from "./transfer";
