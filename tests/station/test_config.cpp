#include "station/config.h"
#include "station/station_context.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::station;

namespace {

QString writeConfig(const QTemporaryDir& dir, const QByteArray& text) {
    QString path = dir.filePath(QStringLiteral("keyline.conf"));
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    f.write(text);
    // Owner-only, as a file holding [hsm] pin must be.
    f.setPermissions(QFileDevice::ReadOwner | QFileDevice::WriteOwner);
    return path;
}

// Keeps the developer's own configuration out of the tests.
struct IsolatedEnvironment {
    QTemporaryDir home;
    IsolatedEnvironment() {
        qputenv("XDG_CONFIG_HOME", home.filePath(QStringLiteral("config")).toLocal8Bit());
        qputenv("XDG_DATA_HOME", home.filePath(QStringLiteral("data")).toLocal8Bit());
        qunsetenv("KEYLINE_CONFIG");
    }
    ~IsolatedEnvironment() { qunsetenv("KEYLINE_CONFIG"); }
};

} // namespace

TEST_CASE("config: no file gives the embedded development defaults", "[config]") {
    IsolatedEnvironment env;
    auto c = loadConfig();
    REQUIRE(c.ok());
    // Where the Debian package is installed, its /etc/keyline/keyline.conf is found; as shipped
    // it sets nothing (the next test), so the defaults below still hold.
    const QString installed = QStringLiteral("/etc/keyline/keyline.conf");
    CHECK(c->sourceFile == (QFileInfo::exists(installed) ? installed : QString()));
    CHECK(c->transports == QStringList{QStringLiteral("sim"), QStringLiteral("usb")});
    CHECK(c->usbVendorId == 0x1209);
    CHECK(c->usbProductId == 0x4b4c);
    CHECK(c->dataDir == env.home.filePath(QStringLiteral("data/keyline")));
    CHECK(c->siliconVendorRoot.endsWith(QStringLiteral("keyline/trust/silicon-vendor-root.pem")));
    CHECK(c->commandTimeoutMs == 3000);

    CHECK(c->hsmModule == QStringLiteral("/usr/lib/softhsm/libsofthsm2.so"));
    CHECK(c->hsmToken == QStringLiteral("keyline-dev"));
    CHECK(c->hsmPin.isEmpty());
    CHECK(c->softhsmConf ==
          env.home.filePath(QStringLiteral("data/keyline/softhsm/softhsm2.conf")));
    CHECK(c->hsmMaxSessions == 8);
    CHECK(c->issuingCaKey.object == QStringLiteral("keyline-issuing-ca"));
    CHECK(c->issuingCaKey.token == QStringLiteral("keyline-dev"));
    CHECK(c->keystoreSigningKey.object == QStringLiteral("keyline-keystore-signing"));
    CHECK(c->imageKey.object == QStringLiteral("keyline-image-key"));
    CHECK(c->imageKey.type == QStringLiteral("secret"));
    CHECK(c->auditKey.object == QStringLiteral("keyline-audit-signing"));
}

TEST_CASE("config: the packaged /etc/keyline/keyline.conf parses and sets nothing", "[config]") {
    IsolatedEnvironment env;
    const QString shipped = QStringLiteral(KEYLINE_SOURCE_DIR "/packaging/keyline.conf");
    auto c = loadConfig(shipped);
    INFO((c ? QString() : c.error().toString()).toStdString());
    REQUIRE(c.ok());
    const StationConfig d = defaultConfig();
    CHECK(c->sourceFile == shipped);
    CHECK(c->stationName == d.stationName);
    CHECK(c->dataDir == d.dataDir);
    CHECK(c->serviceAccount == d.serviceAccount);
    CHECK(c->databasePath == d.databasePath);
    CHECK(c->transports == d.transports);
    CHECK(c->socketDir == d.socketDir);
    CHECK(c->usbVendorId == d.usbVendorId);
    CHECK(c->usbProductId == d.usbProductId);
    CHECK(c->siliconVendorRoot == d.siliconVendorRoot);
    CHECK(c->hsmModule == d.hsmModule);
    CHECK(c->hsmToken == d.hsmToken);
    CHECK(c->softhsmConf == d.softhsmConf);
    CHECK(c->backend.url == d.backend.url);
}

TEST_CASE("config: hsm settings, and defaults that follow data_dir and token", "[config]") {
    IsolatedEnvironment env;
    auto c = loadConfig(
        writeConfig(env.home, "[station]\ndata_dir = /srv/keyline\n"
                              "[hsm]\nmodule = /usr/lib/vendor/libvendor-p11.so\ntoken = line-7\n"
                              "pin = \"12,34;56\"\nmax_sessions = 4\n"
                              "issuing_ca = \"pkcs11:token=line-7;object=ca-2026;type=private\"\n"
                              "audit_key = \"pkcs11:object=audit-2026\"\n"));
    REQUIRE(c.ok());
    CHECK(c->hsmModule == QStringLiteral("/usr/lib/vendor/libvendor-p11.so"));
    CHECK(c->hsmToken == QStringLiteral("line-7"));
    CHECK(c->hsmPin == QByteArrayLiteral("12,34;56"));
    CHECK(c->hsmMaxSessions == 4);
    CHECK(c->softhsmConf == QStringLiteral("/srv/keyline/softhsm/softhsm2.conf"));
    CHECK(c->siliconVendorRoot == QStringLiteral("/srv/keyline/trust/silicon-vendor-root.pem"));
    CHECK(c->issuingCaKey.object == QStringLiteral("ca-2026"));
    CHECK(c->auditKey.object == QStringLiteral("audit-2026"));
    CHECK(c->auditKey.token == QStringLiteral("line-7")); // a URI without token= is on [hsm] token
    CHECK(c->keystoreSigningKey.token == QStringLiteral("line-7"));
    CHECK(c->keystoreSigningKey.object == QStringLiteral("keyline-keystore-signing"));
}

TEST_CASE("config: bad hsm settings are refused, and the PIN is never quoted",
          "[config][malformed]") {
    IsolatedEnvironment env;
    auto refusedWith = [&](const QByteArray& text, const char* needle) {
        auto c = loadConfig(writeConfig(env.home, text));
        REQUIRE_FALSE(c.ok());
        INFO(c.error().toString().toStdString());
        CHECK(exitCodeFor(c.error().code()) == 2);
        CHECK(c.error().toString().contains(QLatin1String(needle)));
        return c.error().toString();
    };
    SECTION("relative module path") {
        refusedWith("[hsm]\nmodule = libsofthsm2.so\n", "hsm/module");
    }
    SECTION("token label too long") {
        refusedWith("[hsm]\ntoken = a-token-label-that-is-longer-than-32-bytes\n", "hsm/token");
    }
    SECTION("max_sessions out of range") {
        refusedWith("[hsm]\nmax_sessions = 0\n", "max_sessions");
        refusedWith("[hsm]\nmax_sessions = many\n", "max_sessions");
    }
    SECTION("a URI cut by an unquoted ';' says to quote it") {
        refusedWith("[hsm]\nissuing_ca = pkcs11:token=keyline-dev;object=keyline-issuing-ca\n",
                    "quote the URI");
    }
    SECTION("a key on another token") {
        refusedWith("[hsm]\nimage_key = \"pkcs11:token=other;object=keyline-image-key\"\n",
                    "other");
    }
    SECTION("a key of the wrong type") {
        refusedWith("[hsm]\nimage_key = \"pkcs11:object=keyline-image-key;type=private\"\n",
                    "type=secret");
    }
    SECTION("not a PKCS#11 URI") {
        refusedWith("[hsm]\naudit_key = file:///etc/key.pem\n", "audit_key");
    }
    SECTION("empty softhsm2_conf") {
        refusedWith("[hsm]\nsofthsm2_conf =\n", "softhsm2_conf");
    }
    SECTION("a PIN in a file other users can read") {
        const QString path = writeConfig(env.home, "[hsm]\npin = s3cret-PIN-77\n");
        QFile::setPermissions(path, QFileDevice::ReadOwner | QFileDevice::WriteOwner |
                                        QFileDevice::ReadGroup | QFileDevice::ReadOther);
        auto c = loadConfig(path);
        REQUIRE_FALSE(c.ok());
        CHECK(c.error().toString().contains(QStringLiteral("chmod 600")));
        CHECK_FALSE(c.error().toString().contains(QStringLiteral("s3cret-PIN-77")));
    }
    SECTION("a PIN that is too long is not echoed") {
        const QByteArray pin(300, 'p');
        const QString why = refusedWith("[hsm]\npin = " + pin + "\n", "hsm/pin");
        CHECK_FALSE(why.contains(QString::fromLatin1(pin.left(20))));
    }
}

TEST_CASE("config: a valid file overrides the defaults", "[config]") {
    IsolatedEnvironment env;
    QString path = writeConfig(env.home, "[station]\nname = line-3\n"
                                         "[devices]\ntransports = usb\ncommand_timeout_ms = 750\n"
                                         "[usb]\nvendor_id = 0x0483\nproduct_id = 5740\n"
                                         "[trust]\nsilicon_vendor_root = /etc/roots.pem\n");
    auto c = loadConfig(path);
    REQUIRE(c.ok());
    CHECK(c->sourceFile == path);
    CHECK(c->stationName == QStringLiteral("line-3"));
    CHECK(c->transports == QStringList{QStringLiteral("usb")});
    CHECK(c->commandTimeoutMs == 750);
    CHECK(c->usbVendorId == 0x0483);
    CHECK(c->usbProductId == 0x5740);
    CHECK(c->siliconVendorRoot == QStringLiteral("/etc/roots.pem"));
}

TEST_CASE("config: $KEYLINE_CONFIG is found, and must exist when set", "[config]") {
    IsolatedEnvironment env;
    QString path = writeConfig(env.home, "[station]\nname = from-env\n");
    qputenv("KEYLINE_CONFIG", path.toLocal8Bit());
    auto c = loadConfig();
    REQUIRE(c.ok());
    CHECK(c->stationName == QStringLiteral("from-env"));

    // Missing: an error, never a silent fall-back to the user's or /etc's file.
    QDir().mkpath(env.home.filePath(QStringLiteral("config/keyline")));
    QFile user(env.home.filePath(QStringLiteral("config/keyline/keyline.conf")));
    REQUIRE(user.open(QIODevice::WriteOnly));
    user.write("[station]\nname = from-xdg\n");
    user.close();
    qputenv("KEYLINE_CONFIG", env.home.filePath(QStringLiteral("missing.conf")).toLocal8Bit());
    auto missing = loadConfig();
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code() == ErrorCode::InvalidArgument);
    CHECK(missing.error().message().contains(QStringLiteral("missing.conf")));
}

TEST_CASE("config: bad files are refused with the key and the problem named",
          "[config][malformed]") {
    IsolatedEnvironment env;
    auto refusedWith = [&](const QByteArray& text, const char* needle) {
        auto c = loadConfig(writeConfig(env.home, text));
        REQUIRE_FALSE(c.ok());
        CHECK(c.error().code() == ErrorCode::BadInput);
        INFO(c.error().toString().toStdString());
        CHECK(c.error().toString().contains(QLatin1String(needle)));
        CHECK(exitCodeFor(c.error().code()) == 2);
    };
    SECTION("unknown key (a typo must not silently fall back to a default)") {
        refusedWith("[usb]\nvendorid = 0x1209\n", "usb/vendorid");
    }
    SECTION("unknown section") {
        refusedWith("[hsm2]\nmodule = x\n", "hsm2/module");
    }
    SECTION("USB ID that is not hex") {
        refusedWith("[usb]\nvendor_id = 0xZZZZ\n", "vendor_id");
    }
    SECTION("USB ID too large") {
        refusedWith("[usb]\nproduct_id = 0x10000\n", "product_id");
    }
    SECTION("unknown transport") {
        refusedWith("[devices]\ntransports = sim, bluetooth\n", "bluetooth");
    }
    SECTION("timeout not a number") {
        refusedWith("[devices]\ncommand_timeout_ms = soon\n", "command_timeout_ms");
    }
    SECTION("timeout out of range") {
        refusedWith("[devices]\ncommand_timeout_ms = 5\n", "command_timeout_ms");
    }
    SECTION("empty path") {
        refusedWith("[trust]\nsilicon_vendor_root =\n", "path");
    }
    SECTION("database URL with a password") {
        refusedWith("[database]\nurl = postgresql://st:pw@db/keyline\n", "database/url");
    }
    SECTION("database URL of another scheme") {
        refusedWith("[database]\nurl = mysql://db/keyline\n", "database/url");
    }
    SECTION("a value whose escaped line break would split the message") {
        refusedWith("[devices]\ntransports = \"sim\\nkeyline: forged line\"\n",
                    "\"sim?keyline: forged line\" is not a transport");
    }
}

TEST_CASE("config: a huge file is refused before it is read", "[config][malformed]") {
    IsolatedEnvironment env;
    // Sparse: 200 MiB that take no disk space, and would take 200 MiB of memory if read.
    const QString path = env.home.filePath(QStringLiteral("huge.conf"));
    QFile f(path);
    REQUIRE(f.open(QIODevice::WriteOnly));
    REQUIRE(f.resize(200LL * 1024 * 1024));
    f.close();
    auto c = loadConfig(path);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code() == ErrorCode::BadInput);
    CHECK(c.error().toString().contains(QStringLiteral("more than the 1048576")));
}

TEST_CASE("config: database url points the station at PostgreSQL", "[config]") {
    IsolatedEnvironment env;
    auto c = loadConfig(writeConfig(
        env.home, "[database]\nurl = postgresql://station@db:5433/keyline?sslmode=require\n"));
    REQUIRE(c.ok());
    CHECK(c->databaseUrl == QStringLiteral("postgresql://station@db:5433/keyline?sslmode=require"));
    auto options = StationContext(*c).databaseOptions();
    REQUIRE(options.ok());
    CHECK(options->driver == QStringLiteral("QPSQL"));
    CHECK(options->port == 5433);
    CHECK(options->connectOptions == QStringLiteral("sslmode=require"));
    auto sqlite = StationContext(*loadConfig(writeConfig(env.home, ""))).databaseOptions();
    REQUIRE(sqlite.ok());
    CHECK(sqlite->driver == QStringLiteral("QSQLITE"));
}

TEST_CASE("config: an explicitly named file that does not exist is a usage error", "[config]") {
    IsolatedEnvironment env;
    auto c = loadConfig(env.home.filePath(QStringLiteral("nope.conf")));
    REQUIRE_FALSE(c.ok());
    CHECK(exitCodeFor(c.error().code()) == 2);
}
