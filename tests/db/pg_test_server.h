#pragma once

// A throwaway PostgreSQL 15 server for tests: initdb in a temporary folder, listening on
// loopback on a free port with trust authentication, one per test process, stopped and deleted
// when the run ends (or, if the process dies, by a guard process that outlives it). Each test
// takes a fresh database from it, so tests stay independent. As root (CI), the server runs as
// the `postgres` system user through runuser, because initdb refuses to run as root.
//
// Missing server binaries are a test failure with what to install, never a silent skip.

#include "db/database.h"

#include <QString>

namespace keyline::test {

class PgTestServer {
public:
    // Started on first use. FAILs the current test when the server cannot start.
    static PgTestServer& instance();

    // A new, empty database (CREATE DATABASE with a unique name), as the db library takes it.
    db::DatabaseOptions createDatabase();
    // The same as a [database] url for a station's keyline.conf.
    static QString urlFor(const db::DatabaseOptions& options);

    void stop();
    ~PgTestServer();
    PgTestServer(const PgTestServer&) = delete;
    PgTestServer& operator=(const PgTestServer&) = delete;

private:
    PgTestServer() = default;
    QString start(); // empty on success, else why not

    QString m_dir; // owns: data/, the socket and the log
    int m_port = 0;
    int m_databases = 0;
    bool m_running = false;
};

// KEYLINE_TEST_DB=postgres: the db tests run against PostgreSQL instead of SQLite.
bool testingPostgres();

} // namespace keyline::test
