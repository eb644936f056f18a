// Public names of the auth module are exported here.
export {
  HtpasswdUsers,
  resolveUsers,
  ResolvedUser,
  HtpasswdUsersArgs,
  HtpasswdUser,
  Credential,
  DEFAULT_USERS,
  DEFAULT_PASSWORD_LENGTH,
} from "./htpasswdUsers";
export {
  renderHtpasswd,
  renderHtpasswdLine,
  stableBcrypt,
  deriveSalt,
  bcryptCostOf,
  BCRYPT_MIN_COST,
  BCRYPT_MAX_COST,
  DEFAULT_GENERATED_COST,
  DEFAULT_SUPPLIED_COST,
} from "./htpasswd";
