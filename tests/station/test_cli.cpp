#include "station/cli.h"

#include <QTemporaryDir>
#include <catch2/catch.hpp>

using namespace keyline::station;

namespace {

struct Run {
    int code;
    QString out;
    QString err;
};

Run run(const QStringList& args) {
    QString out, err;
    QTextStream o(&out), e(&err);
    Cli cli{o, e, {}, QStringLiteral("keyline")};
    int code = runCli(cli, args);
    o.flush();
    e.flush();
    return {code, out, err};
}

} // namespace

TEST_CASE("cli: --help teaches the commands and the exit codes", "[cli]") {
    Run r = run({QStringLiteral("--help")});
    CHECK(r.code == 0);
    CHECK(r.out.contains(QStringLiteral("device identify")));
    CHECK(r.out.contains(QStringLiteral("Exit codes")));
    CHECK(r.out.contains(QStringLiteral("--config")));
    for (const char* command : {"hsm init-dev", "hsm keys", "hsm ceremony", "ca issue",
                                "keystore build", "keystore verify"})
        CHECK(r.out.contains(QLatin1String(command)));
    // Each group teaches itself too.
    for (const char* group : {"hsm", "ca", "keystore", "device"}) {
        Run g = run({QLatin1String(group), QStringLiteral("--help")});
        CHECK(g.code == 0);
        CHECK(g.out.contains(QStringLiteral("Exit codes")));
    }
}

TEST_CASE("cli: --version", "[cli]") {
    Run r = run({QStringLiteral("--version")});
    CHECK(r.code == 0);
    CHECK(r.out.startsWith(QStringLiteral("keyline ")));
}

TEST_CASE("cli: bad usage exits 2 with one line saying what to do", "[cli]") {
    Run unknown = run({QStringLiteral("frobnicate")});
    CHECK(unknown.code == 2);
    CHECK(unknown.err.contains(QStringLiteral("unknown command \"frobnicate\"")));
    CHECK(unknown.err.count(QLatin1Char('\n')) == 1);

    CHECK(run({}).code == 2);
    CHECK(run({QStringLiteral("--bogus")}).code == 2);
    CHECK(run({QStringLiteral("--config")}).code == 2);
    CHECK(run({QStringLiteral("device"), QStringLiteral("explode")}).code == 2);
    CHECK(run({QStringLiteral("device"), QStringLiteral("list"), QStringLiteral("--what")}).code ==
          2);
}

TEST_CASE("cli: no device directory is 'environment not ready' (exit 3)", "[cli]") {
    QTemporaryDir dir;
    QString conf = dir.filePath(QStringLiteral("k.conf"));
    QFile f(conf);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write(QStringLiteral("[devices]\ntransports = sim\nsocket_dir = %1/none\n")
                .arg(dir.path())
                .toUtf8());
    f.close();
    Run r =
        run({QStringLiteral("--config"), conf, QStringLiteral("device"), QStringLiteral("list")});
    CHECK(r.code == 3);
    CHECK(r.err.contains(QStringLiteral("does not exist")));
}

TEST_CASE("cli: a broken configuration file is bad input (exit 2)", "[cli]") {
    QTemporaryDir dir;
    QString conf = dir.filePath(QStringLiteral("k.conf"));
    QFile f(conf);
    REQUIRE(f.open(QIODevice::WriteOnly));
    f.write("[usb]\nvendor = 1\n");
    f.close();
    Run r =
        run({QStringLiteral("--config"), conf, QStringLiteral("device"), QStringLiteral("list")});
    CHECK(r.code == 2);
    CHECK(r.err.contains(QStringLiteral("usb/vendor")));
}
