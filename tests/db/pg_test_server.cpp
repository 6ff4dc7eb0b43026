#include "pg_test_server.h"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcess>
#include <QSqlDatabase>
#include <QSqlError>
#include <QSqlQuery>
#include <QTemporaryDir>
// The listener base class is part of Catch2's external interfaces.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace keyline::test {

namespace {

const QString kUser = QStringLiteral("keyline");

QString binDir() {
    const QByteArray overridden = qgetenv("KEYLINE_PG_BINDIR");
    return overridden.isEmpty() ? QStringLiteral("/usr/lib/postgresql/15/bin")
                                : QString::fromLocal8Bit(overridden);
}

// A port nobody listens on right now. Another process may take it before the server does;
// start() then tries another.
int freeLoopbackPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
        port = ntohs(addr.sin_port);
    ::close(fd);
    return port;
}

// The server's programs run as `postgres` when we are root: initdb and postgres refuse root.
struct Runner {
    bool asPostgres = ::getuid() == 0;

    // Exit code and output of a server program; -1 when it could not run.
    std::pair<int, QString> run(const QString& program, const QStringList& args,
                                int timeoutMs = 120000) const {
        QProcess p;
        p.setProcessChannelMode(QProcess::MergedChannels);
        const QString path = QDir(binDir()).filePath(program);
        if (asPostgres)
            p.start(QStringLiteral("runuser"),
                    QStringList{QStringLiteral("-u"), QStringLiteral("postgres"),
                                QStringLiteral("--"), path} +
                        args);
        else
            p.start(path, args);
        if (!p.waitForStarted(10000))
            return {-1, p.errorString()};
        if (!p.waitForFinished(timeoutMs)) {
            p.kill();
            p.waitForFinished(5000);
            return {-1, QStringLiteral("timed out: ") + QString::fromLocal8Bit(p.readAll())};
        }
        return {p.exitCode(), QString::fromLocal8Bit(p.readAll())};
    }
};

QString shellQuote(const QString& s) {
    return QLatin1Char('\'') + QString(s).replace(QLatin1Char('\''), QLatin1String("'\\''")) +
           QLatin1Char('\'');
}

// Stops the server and deletes its folder once the test process is gone, however it ended.
void startGuard(const QString& dir, bool asPostgres) {
    const QString pgCtl = QDir(binDir()).filePath(QStringLiteral("pg_ctl"));
    const QString stop = (asPostgres ? QStringLiteral("runuser -u postgres -- ") : QString()) +
                         shellQuote(pgCtl) + QStringLiteral(" -D ") +
                         shellQuote(dir + QStringLiteral("/data")) +
                         QStringLiteral(" -m immediate -w stop >/dev/null 2>&1");
    const QString script =
        QStringLiteral("while kill -0 %1 2>/dev/null; do sleep 1; done; "
                       "if [ -f %2/data/postmaster.pid ]; then %3; fi; rm -rf %2")
            .arg(QCoreApplication::applicationPid())
            .arg(shellQuote(dir), stop);
    QProcess guard;
    guard.setProgram(QStringLiteral("sh"));
    guard.setArguments({QStringLiteral("-c"), script});
    guard.setStandardOutputFile(QProcess::nullDevice());
    guard.setStandardErrorFile(QProcess::nullDevice());
    guard.startDetached();
}

PgTestServer* g_server = nullptr;

} // namespace

bool testingPostgres() {
    const QByteArray which = qgetenv("KEYLINE_TEST_DB");
    if (which.isEmpty() || which == "sqlite")
        return false;
    if (which != "postgres")
        FAIL("KEYLINE_TEST_DB must be sqlite or postgres, not " << which.toStdString());
    return true;
}

PgTestServer& PgTestServer::instance() {
    // Deliberately leaked: stop() runs from the listener while Qt is still up.
    if (!g_server)
        g_server = new PgTestServer;
    return *g_server;
}

PgTestServer::~PgTestServer() {
    stop();
}

QString PgTestServer::start() {
    const QString initdb = QDir(binDir()).filePath(QStringLiteral("initdb"));
    if (!QFileInfo(initdb).isExecutable())
        return QStringLiteral("the PostgreSQL 15 server programs are missing (no %1): install "
                              "the postgresql package (scripts/setup does), or set "
                              "KEYLINE_PG_BINDIR")
            .arg(initdb);
    const Runner runner;
    const passwd* pg = runner.asPostgres ? ::getpwnam("postgres") : nullptr;
    if (runner.asPostgres && !pg)
        return QStringLiteral("running as root, but there is no postgres user to run the test "
                              "server as: install the postgresql package (scripts/setup does)");
    // Short and under /tmp: the server's Unix socket goes in here too (107-byte limit).
    QTemporaryDir tmp(QStringLiteral("/tmp/kl-pg-XXXXXX"));
    if (!tmp.isValid())
        return QStringLiteral("cannot create a temporary folder in /tmp");
    tmp.setAutoRemove(false);
    m_dir = tmp.path();
    if (pg && ::chown(QFile::encodeName(m_dir).constData(), pg->pw_uid, pg->pw_gid) != 0)
        return QStringLiteral("cannot hand %1 to the postgres user").arg(m_dir);
    const QString data = m_dir + QStringLiteral("/data");
    auto [initCode, initOut] = runner.run(
        QStringLiteral("initdb"),
        {QStringLiteral("-D"), data, QStringLiteral("-U"), kUser, QStringLiteral("--auth=trust"),
         QStringLiteral("-E"), QStringLiteral("UTF8"), QStringLiteral("--locale=C"),
         QStringLiteral("--no-sync"), QStringLiteral("--no-instructions")});
    if (initCode != 0)
        return QStringLiteral("initdb failed: ") + initOut;
    startGuard(m_dir, runner.asPostgres);
    QString lastError;
    for (int attempt = 0; attempt < 3; ++attempt) {
        m_port = freeLoopbackPort();
        // Durability is not what these tests check: no fsync keeps them fast.
        const QString options =
            QStringLiteral("-p %1 -k %2 -c listen_addresses=127.0.0.1 -c fsync=off "
                           "-c synchronous_commit=off -c full_page_writes=off "
                           "-c max_connections=200")
                .arg(m_port)
                .arg(m_dir);
        auto [code, out] = runner.run(QStringLiteral("pg_ctl"),
                                      {QStringLiteral("-D"), data, QStringLiteral("-o"), options,
                                       QStringLiteral("-l"), m_dir + QStringLiteral("/server.log"),
                                       QStringLiteral("-w"), QStringLiteral("-t"),
                                       QStringLiteral("60"), QStringLiteral("start")});
        if (code == 0) {
            m_running = true;
            return QString();
        }
        QFile log(m_dir + QStringLiteral("/server.log"));
        lastError = out + (log.open(QIODevice::ReadOnly) ? QString::fromLocal8Bit(log.readAll())
                                                         : QString());
    }
    return QStringLiteral("pg_ctl start failed: ") + lastError;
}

void PgTestServer::stop() {
    const QString admin = QStringLiteral("keyline-pg-test-admin");
    if (QSqlDatabase::contains(admin))
        QSqlDatabase::removeDatabase(admin);
    if (m_running) {
        Runner().run(QStringLiteral("pg_ctl"),
                     {QStringLiteral("-D"), m_dir + QStringLiteral("/data"), QStringLiteral("-m"),
                      QStringLiteral("immediate"), QStringLiteral("-w"), QStringLiteral("stop")});
        m_running = false;
    }
    if (!m_dir.isEmpty()) {
        QDir(m_dir).removeRecursively();
        m_dir.clear();
    }
}

db::DatabaseOptions PgTestServer::createDatabase() {
    if (!m_running) {
        const QString why = start();
        if (!why.isEmpty())
            FAIL("cannot start the PostgreSQL test server: " << why.toStdString());
    }
    const QString admin = QStringLiteral("keyline-pg-test-admin");
    {
        QSqlDatabase connection = QSqlDatabase::contains(admin)
                                      ? QSqlDatabase::database(admin)
                                      : QSqlDatabase::addDatabase(QStringLiteral("QPSQL"), admin);
        connection.setHostName(QStringLiteral("127.0.0.1"));
        connection.setPort(m_port);
        connection.setUserName(kUser);
        connection.setDatabaseName(QStringLiteral("postgres"));
        if (!connection.isOpen() && !connection.open())
            FAIL("cannot connect to the PostgreSQL test server: "
                 << connection.lastError().text().toStdString());
        QSqlQuery create(connection);
        const QString name = QStringLiteral("kl_test_%1").arg(++m_databases);
        if (!create.exec(QStringLiteral("CREATE DATABASE ") + name))
            FAIL("CREATE DATABASE " << name.toStdString() << ": "
                                    << create.lastError().text().toStdString());
    }
    db::DatabaseOptions options;
    options.driver = QStringLiteral("QPSQL");
    options.host = QStringLiteral("127.0.0.1");
    options.port = m_port;
    options.user = kUser;
    options.name = QStringLiteral("kl_test_%1").arg(m_databases);
    return options;
}

QString PgTestServer::urlFor(const db::DatabaseOptions& options) {
    return QStringLiteral("postgresql://%1@%2:%3/%4")
        .arg(options.user, options.host)
        .arg(options.port)
        .arg(options.name);
}

} // namespace keyline::test

namespace {

// Stops the server when the Catch2 run ends, before Qt and the statics go away.
struct StopPgTestServer : Catch::TestEventListenerBase {
    using TestEventListenerBase::TestEventListenerBase;
    void testRunEnded(const Catch::TestRunStats&) override {
        keyline::test::PgTestServer::instance().stop();
    }
};

} // namespace

CATCH_REGISTER_LISTENER(StopPgTestServer)
