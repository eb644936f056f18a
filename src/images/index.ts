// Public names of the images module are exported here.
export {};
