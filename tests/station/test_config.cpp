#include "station/config.h"

#include <QFile>
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
    CHECK(c->sourceFile.isEmpty());
    CHECK(c->transports == QStringList{QStringLiteral("sim"), QStringLiteral("usb")});
    CHECK(c->usbVendorId == 0x1209);
    CHECK(c->usbProductId == 0x4b4c);
    CHECK(c->dataDir == env.home.filePath(QStringLiteral("data/keyline")));
    CHECK(c->siliconVendorRoot.endsWith(QStringLiteral("keyline/trust/silicon-vendor-root.pem")));
    CHECK(c->commandTimeoutMs == 3000);
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
}

TEST_CASE("config: an explicitly named file that does not exist is a usage error", "[config]") {
    IsolatedEnvironment env;
    auto c = loadConfig(env.home.filePath(QStringLiteral("nope.conf")));
    REQUIRE_FALSE(c.ok());
    CHECK(exitCodeFor(c.error().code()) == 2);
}
