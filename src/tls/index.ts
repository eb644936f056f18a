// Public names of the tls module are exported here.
export {};
