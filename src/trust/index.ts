// Public names of the trust module are exported here.
export {};
