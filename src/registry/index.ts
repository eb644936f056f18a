// Public names of the registry module are exported here.
export {};
