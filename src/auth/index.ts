// Public names of the auth module are exported here.
export {};
