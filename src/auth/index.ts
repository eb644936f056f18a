// Public names of the auth module are exported here.
export {
  HtpasswdUsers,
  HtpasswdUsersArgs,
  HtpasswdUser,
  Credential,
  DEFAULT_USERS,
  DEFAULT_PASSWORD_LENGTH,
} from "./htpasswdUsers";
export { renderHtpasswd, renderHtpasswdLine, stableBcrypt, BCRYPT_COST } from "./htpasswd";
