#pragma once

// The `keyline` command line run in-process against a station whose data directory (SoftHSM2
// token included) lives in a temp dir, as tests/hsm/hsm_fixture.h does for the HSM library.

#include "hsm/hsm_fixture.h"
#include "station/cli.h"

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <catch2/catch.hpp>

namespace keyline::test {

struct CliRun {
    int code = -1;
    QString out;
    QString err;
    QString all() const { return out + err; }
};

// Sets an environment variable for one command (empty: unset) and unsets it afterwards, so no
// PIN leaks from one command into the next.
struct ScopedEnv {
    const char* name;
    ScopedEnv(const char* n, const QByteArray& value)
        : name(n) {
        if (value.isEmpty())
            qunsetenv(name);
        else
            qputenv(name, value);
    }
    ~ScopedEnv() { qunsetenv(name); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;
};

inline CliRun runKeyline(const QString& configPath, const QStringList& args) {
    QString out, err;
    QTextStream o(&out), e(&err);
    station::Cli cli{o, e, configPath, QStringLiteral("keyline")};
    const int code = station::runCli(cli, args);
    o.flush();
    e.flush();
    return {code, out, err};
}

// A station: <dir>/data is the data directory, <dir>/keyline.conf its configuration (mode 600,
// since it holds the PIN). `extraHsm` lines go into [hsm].
struct StationFixture {
    QTemporaryDir dir;
    QString config;

    explicit StationFixture(const QByteArray& pin = kTestPin, const QByteArray& extraHsm = {}) {
        REQUIRE(dir.isValid());
        qunsetenv("KEYLINE_HSM_PIN");
        config = writeConfig(QStringLiteral("keyline.conf"), pin, extraHsm);
    }

    QString path(const QString& name) const { return QDir(dir.path()).filePath(name); }
    QString dataDir() const { return path(QStringLiteral("data")); }
    QString exportFile(const QString& name) const {
        return QDir(dataDir()).filePath(QStringLiteral("export/") + name);
    }

    QString writeConfig(const QString& name, const QByteArray& pin,
                        const QByteArray& extraHsm = {}) const {
        QByteArray text = "[station]\nname = test-line\ndata_dir = " + dataDir().toUtf8() +
                          "\n[hsm]\nmodule = " + kSoftHsmModule.toUtf8() + "\n";
        if (!pin.isEmpty())
            text += "pin = \"" + pin + "\"\n";
        text += extraHsm;
        return writeFile(name, text, QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    }

    QString writeFile(const QString& name, const QByteArray& data,
                      QFileDevice::Permissions perms = QFileDevice::ReadOwner |
                                                       QFileDevice::WriteOwner) const {
        const QString p = path(name);
        QFile f(p);
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(data);
        f.close();
        f.setPermissions(perms);
        return p;
    }

    QByteArray readFile(const QString& name) const {
        QFile f(path(name));
        REQUIRE(f.open(QIODevice::ReadOnly));
        return f.readAll();
    }

    CliRun run(const QStringList& args) const { return runKeyline(config, args); }

    // The development set, as an engineer makes it.
    void initDev() const {
        const CliRun r = run({QStringLiteral("hsm"), QStringLiteral("init-dev")});
        INFO(r.all().toStdString());
        REQUIRE(r.code == 0);
    }
};

} // namespace keyline::test
