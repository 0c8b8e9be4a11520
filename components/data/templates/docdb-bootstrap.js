// Converges the document store's application user, run by mongosh as the DocumentDB master user.
// The user gets exactly one built-in role (DOCDB_APP_ROLE: readWrite or read) on the application database
// (DOCDB_DATABASE) and the password of the application secret; any other role it holds is dropped, so running it
// again changes nothing that is already right. DocumentDB keeps every user in the admin database.
// Environment: DOCDB_HOST, DOCDB_PORT, DOCDB_DATABASE, DOCDB_APP_USER, DOCDB_APP_ROLE, DOCDB_CA_FILE.
// Files: /creds/docdb-master.json and /creds/docdb-app.json ({"username", "password", ...}).
'use strict';
const fs = require('fs');
const env = process.env;
const ROLES = ['readWrite', 'read'];

function login(path) {
  const value = JSON.parse(fs.readFileSync(path, 'utf8'));
  if (typeof value.username !== 'string' || typeof value.password !== 'string') {
    throw new Error(`${path} holds no username and password`);
  }
  return value;
}

function checked(reply, what) {
  if (!reply || reply.ok !== 1) {
    throw new Error(`${what} failed: ${(reply && (reply.errmsg || reply.codeName)) || 'no reply'}`);
  }
  return reply;
}

function names(roles) {
  return roles.map((r) => `${r.role}@${r.db}`).sort().join(', ');
}

function converge(admin, user, password, roles) {
  const found = checked(admin.runCommand({ usersInfo: user }), 'usersInfo');
  const command = found.users.length === 0 ? 'createUser' : 'updateUser';
  checked(admin.runCommand({ [command]: user, pwd: password, roles }), command);
  const now = checked(admin.runCommand({ usersInfo: user }), 'usersInfo').users;
  if (now.length !== 1 || names(now[0].roles) !== names(roles)) {
    throw new Error(`${user} holds [${now.length ? names(now[0].roles) : 'nothing'}], not [${names(roles)}]`);
  }
  return command;
}

function main() {
  const master = login('/creds/docdb-master.json');
  const app = login('/creds/docdb-app.json');
  if (app.username !== env.DOCDB_APP_USER) {
    throw new Error(`the application secret names user '${app.username}', expected '${env.DOCDB_APP_USER}'`);
  }
  if (app.username.toLowerCase() === master.username.toLowerCase()) {
    throw new Error('refusing to converge: the application user would be the master user');
  }
  if (!ROLES.includes(env.DOCDB_APP_ROLE)) {
    throw new Error(`DOCDB_APP_ROLE '${env.DOCDB_APP_ROLE}' is not one of ${ROLES.join(', ')}`);
  }
  const options = ['tls=true', `tlsCAFile=${encodeURIComponent(env.DOCDB_CA_FILE)}`, 'replicaSet=rs0',
    'readPreference=primary', 'retryWrites=false', 'authSource=admin'];
  const uri = `mongodb://${encodeURIComponent(master.username)}:${encodeURIComponent(master.password)}`
    + `@${env.DOCDB_HOST}:${env.DOCDB_PORT}/?${options.join('&')}`;
  const admin = new Mongo(uri).getDB('admin');
  const roles = [{ role: env.DOCDB_APP_ROLE, db: env.DOCDB_DATABASE }];
  const done = converge(admin, app.username, app.password, roles);
  print(`docdb-bootstrap: ${done} ${app.username} with ${names(roles)}`);
}

try {
  main();
} catch (err) {
  print(`docdb-bootstrap FAILED: ${err.message}`);
  quit(1);
}
