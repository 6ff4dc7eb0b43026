#pragma once

// A whole development line in a temp dir: the station (SoftHSM2 token from `hsm init-dev`, its
// database with an operator, a service account in keyline.conf), a dev keystore and package
// made with the `keyline` commands, and helpers to start the virtual wearable and the `keyline`
// executable as processes (so a test can kill them). With a database URL, the station uses a
// shared PostgreSQL database instead of its SQLite file, and stationConfig() writes the
// configuration of further stations of the same line.

#include "cli_fixture.h"
#include "db/database.h"
#include "db/database_url.h"
#include "db/operator_repository.h"

#include <QCoreApplication>
#include <QFileInfo>
#include <QProcess>
#include <functional>

namespace keyline::test {

inline QString buildPath(const char* relative) {
    return QDir(QStringLiteral(KEYLINE_BUILD_DIR)).filePath(QLatin1String(relative));
}

inline QString firmwareTree() {
    return QDir(QStringLiteral(KEYLINE_SOURCE_DIR)).filePath(QStringLiteral("firmware_image/tree"));
}

struct LineFixture : StationFixture {
    QString socketDir;
    QString databasePath;
    QString databaseUrl;                 // empty: SQLite at databasePath
    db::DatabaseOptions databaseOptions; // what the stations' configuration points at
    QStringList ownedSocketDirs;         // removed at the end

    // `beforeInitDev` runs once the configuration is written, before `hsm init-dev`.
    explicit LineFixture(const QString& sharedDatabaseUrl = QString(),
                         const std::function<void(const LineFixture&)>& beforeInitDev = {})
        : StationFixture(kTestPin)
        , databaseUrl(sharedDatabaseUrl) {
        socketDir = newSocketDir(QString());
        databasePath = QDir(dataDir()).filePath(QStringLiteral("keyline.db"));
        if (databaseUrl.isEmpty()) {
            databaseOptions.name = databasePath;
        } else {
            auto parsed = db::databaseOptionsFromUrl(databaseUrl);
            REQUIRE(parsed.ok());
            databaseOptions = *parsed;
        }
        config =
            stationConfig(QStringLiteral("keyline.conf"), QStringLiteral("test-line"), socketDir);
        if (beforeInitDev)
            beforeInitDev(*this);
        initDev();
        addOperator(QStringLiteral("line-service"), db::Role::Supervisor, QStringLiteral("0000"));
    }
    ~LineFixture() {
        for (const QString& d : ownedSocketDirs)
            QDir(d).removeRecursively();
    }

    // A socket folder of its own for a simulator, short enough for Unix socket paths.
    QString newSocketDir(const QString& suffix) {
        const QString d =
            QDir(QStringLiteral("/tmp"))
                .filePath(QStringLiteral("kl-line-%1").arg(QCoreApplication::applicationPid()) +
                          QStringLiteral("-") + QFileInfo(dir.path()).fileName() + suffix);
        QDir().mkpath(d);
        ownedSocketDirs << d;
        return d;
    }

    // A station of this line: its name, the simulator it drives, and (when given) the silicon
    // vendor root it trusts; the data folder, HSM and database are the line's.
    QString stationConfig(const QString& file, const QString& stationName, const QString& sockets,
                          const QString& vendorRoot = QString()) const {
        QByteArray text = "[station]\nname = " + stationName.toUtf8() +
                          "\ndata_dir = " + dataDir().toUtf8() +
                          "\nservice_account = line-service\n"
                          "[devices]\ntransports = sim\nsocket_dir = " +
                          sockets.toUtf8() + "\n[hsm]\nmodule = " + kSoftHsmModule.toUtf8() +
                          "\npin = \"" + kTestPin + "\"\n";
        if (!databaseUrl.isEmpty())
            text += "[database]\nurl = " + databaseUrl.toUtf8() + "\n";
        if (!vendorRoot.isEmpty())
            text += "[trust]\nsilicon_vendor_root = " + vendorRoot.toUtf8() + "\n";
        return writeFile(file, text);
    }

    void addOperator(const QString& name, db::Role role, const QString& pin) const {
        auto database = db::Database::open(databaseOptions);
        REQUIRE(database.ok());
        auto created =
            db::OperatorRepository(**database, db::PinHasher(db::PinHasher::kMinimumIterations))
                .create(name, role, pin);
        REQUIRE(created.ok());
    }

    std::unique_ptr<db::Database> openDatabase() const {
        auto database = db::Database::open(databaseOptions);
        REQUIRE(database.ok());
        return std::move(*database);
    }

    CliRun expect(const QStringList& args, int code) const {
        const CliRun r = run(args);
        INFO("keyline " << args.join(QLatin1Char(' ')).toStdString() << "\n"
                        << r.all().toStdString());
        REQUIRE(r.code == code);
        return r;
    }

    QString devKeystore(const QString& customer) const {
        const QString out = path(customer + QStringLiteral("-dev.ks"));
        expect({QStringLiteral("keystore"), QStringLiteral("build"), QStringLiteral("--customer"),
                customer, QStringLiteral("--env"), QStringLiteral("dev"),
                QStringLiteral("--serial"), QStringLiteral("1"), QStringLiteral("-o"), out},
               0);
        return out;
    }

    QString devPackage(const QString& keystore, const QString& name) const {
        const QString out = path(name);
        expect({QStringLiteral("package"), QStringLiteral("build"), QStringLiteral("--tree"),
                firmwareTree(), QStringLiteral("--os-version"), QStringLiteral("1.0.0"),
                QStringLiteral("--app"), QDir(firmwareTree()).filePath(QStringLiteral("app")),
                QStringLiteral("--keystore"), keystore, QStringLiteral("--env"),
                QStringLiteral("dev"), QStringLiteral("-o"), out},
               0);
        return out;
    }

    CliRun createOrder(const QString& id, const QString& customer, const QString& env, int quantity,
                       const QString& package, const QString& keystore) const {
        return run({QStringLiteral("order"), QStringLiteral("create"), QStringLiteral("--id"), id,
                    QStringLiteral("--customer"), customer, QStringLiteral("--env"), env,
                    QStringLiteral("--quantity"), QString::number(quantity),
                    QStringLiteral("--package"), package, QStringLiteral("--keystore"), keystore});
    }
};

// The virtual wearable as a process that trusts this station's vendor keystore key.
struct SimProcess {
    QProcess process;
    QString stateDir;

    // `name`: the state folder (one per simulator); `sockets`: empty for the line's own.
    SimProcess(const LineFixture& line, int ports, int devicesPerPort,
               const QStringList& extra = {}, const QString& name = QStringLiteral("sim"),
               const QString& sockets = QString()) {
        stateDir = line.path(name);
        process.setProcessChannelMode(QProcess::MergedChannels);
        process.start(
            buildPath("sim/keyline-wearable-sim"),
            QStringList{QStringLiteral("--ports"), QString::number(ports),
                        QStringLiteral("--devices-per-port"), QString::number(devicesPerPort),
                        QStringLiteral("--state-dir"), stateDir, QStringLiteral("--socket-dir"),
                        sockets.isEmpty() ? line.socketDir : sockets, QStringLiteral("--timing"),
                        QStringLiteral("none"), QStringLiteral("--vendor-key"),
                        line.exportFile(QStringLiteral("keystore-signing.pub.pem"))} +
                extra);
        REQUIRE(process.waitForStarted(5000));
        QByteArray out;
        while (!out.contains("ready")) {
            REQUIRE(process.waitForReadyRead(10000));
            out += process.readAll();
        }
        // The station trusts the silicon vendor that made the simulated chips.
        const QString trust = QDir(line.dataDir()).filePath(QStringLiteral("trust"));
        QDir().mkpath(trust);
        const QString root = QDir(trust).filePath(QStringLiteral("silicon-vendor-root.pem"));
        QFile::remove(root);
        REQUIRE(
            QFile::copy(QDir(stateDir).filePath(QStringLiteral("silicon-vendor-root.pem")), root));
    }
    ~SimProcess() {
        process.terminate();
        if (!process.waitForFinished(5000)) {
            process.kill();
            process.waitForFinished(5000);
        }
    }
};

} // namespace keyline::test
