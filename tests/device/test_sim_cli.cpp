// keyline-wearable-sim as a process: help, usage errors, SIGTERM, and a SIGKILL in the middle
// of a flash transfer (the crash-safety promise of docs/wearable-sim.md).
#include "flashing/device_client.h"
#include "flashing/socket_transport.h"
#include "package_kit.h"
#include "station_side.h"
#include "vendor_keystore.h"

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QTemporaryDir>
#include <catch2/catch.hpp>
#include <csignal>

namespace {

QString simulatorPath() {
    return QDir(qEnvironmentVariable("KEYLINE_BUILD_DIR"))
        .filePath(QStringLiteral("sim/keyline-wearable-sim"));
}

struct SimProcess {
    QProcess process;

    void start(const QStringList& arguments) {
        process.start(simulatorPath(), arguments);
        REQUIRE(process.waitForStarted(5000));
        QByteArray out;
        while (!out.contains("ready\n")) {
            REQUIRE(process.waitForReadyRead(10000));
            out += process.readAllStandardOutput();
        }
        CHECK(out.contains("port 01: device "));
    }
    ~SimProcess() {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(5000);
        }
    }
};

std::unique_ptr<keyline::flashing::DeviceClient> connectTo(const QString& socketDir) {
    keyline::flashing::PortInfo info;
    info.endpoint = QStringLiteral("sim:port-01");
    info.address = QDir(socketDir).filePath(QStringLiteral("port-01.sock"));
    auto transport = keyline::flashing::SocketTransport::connect(info);
    REQUIRE(transport.ok());
    return std::make_unique<keyline::flashing::DeviceClient>(std::move(*transport));
}

} // namespace

TEST_CASE("the help text teaches every fault and flag", "[device][cli]") {
    QProcess p;
    p.start(simulatorPath(), {QStringLiteral("--help")});
    REQUIRE(p.waitForFinished(10000));
    CHECK(p.exitCode() == 0);
    const QByteArray help = p.readAllStandardOutput();
    for (const char* word :
         {"disconnect-after-bytes", "disconnect-at", "corrupt-chunk", "brownout-at-commit",
          "counterfeit", "otp-burned-other", "rng-repeat", "garbage", "flood", "--timing",
          "--usb-rate", "--flash-rate", "--otp-burn-ms", "--keygen-ms", "--devices-per-port",
          "--state-dir", "--vendor-key", "no vendor key installed"})
        CHECK(help.contains(word));
}

TEST_CASE("bad usage exits 2 with a reason", "[device][cli]") {
    QTemporaryDir dir;
    for (const QStringList& args :
         {QStringList{QStringLiteral("--ports"), QStringLiteral("2")},
          QStringList{QStringLiteral("--state-dir"), dir.path(), QStringLiteral("--fault"),
                      QStringLiteral("1:nonsense")},
          QStringList{QStringLiteral("--state-dir"), dir.path(), QStringLiteral("--timing"),
                      QStringLiteral("fast")},
          // A vendor key that cannot be read must not give devices that refuse every keystore.
          QStringList{QStringLiteral("--state-dir"), dir.path(), QStringLiteral("--vendor-key"),
                      dir.filePath(QStringLiteral("missing.pem"))}}) {
        QProcess p;
        p.start(simulatorPath(), args);
        REQUIRE(p.waitForFinished(10000));
        CHECK(p.exitCode() == 2);
        CHECK_FALSE(p.readAllStandardError().isEmpty());
    }
}

TEST_CASE("the vendor key of --vendor-key decides which keystores are stored", "[device][cli]") {
    QTemporaryDir state;
    QTemporaryDir sockets(QStringLiteral("/tmp/kls-XXXXXX"));
    const auto& vendor = keyline::devicetest::VendorKeystoreKey::instance();
    SimProcess sim;
    sim.start({QStringLiteral("--ports"), QStringLiteral("1"), QStringLiteral("--state-dir"),
               state.path(), QStringLiteral("--socket-dir"), sockets.path(),
               QStringLiteral("--timing"), QStringLiteral("none"), QStringLiteral("--vendor-key"),
               vendor.publicKeyPath()});
    auto client = connectTo(sockets.path());
    CHECK_FALSE(client->writeKeystore(keyline::devicetest::otherVendorKeystore()).ok());
    const QByteArray keystore = vendor.keystore();
    auto written = client->writeKeystore(keystore);
    REQUIRE(written.ok());
    CHECK(written->sha256 == keyline::devicetest::sha256(keystore));
}

TEST_CASE("a killed simulator resumes flashing from the last durable offset, SIGTERM cleans up",
          "[device][cli]") {
    QTemporaryDir state;
    QTemporaryDir sockets(QStringLiteral("/tmp/kls-XXXXXX"));
    const QStringList args{QStringLiteral("--ports"),
                           QStringLiteral("1"),
                           QStringLiteral("--state-dir"),
                           state.path(),
                           QStringLiteral("--socket-dir"),
                           sockets.path(),
                           QStringLiteral("--timing"),
                           QStringLiteral("none"),
                           QStringLiteral("--vendor-key"),
                           keyline::devicetest::VendorKeystoreKey::instance().publicKeyPath()};
    const keyline::devicetest::PackageKit kit;
    keyline::devicetest::Release release;
    release.osBytes = 12 * 1024 * 1024;
    const QByteArray image = kit.package(release);
    const QByteArray sha = keyline::devicetest::sha256(image);
    const int chunk = 256 * 1024;
    // The simulator records its durable offset every 8 MiB (docs/wearable-sim.md).
    const std::uint64_t durable = 8 * 1024 * 1024;
    const std::uint64_t sent = durable + 2 * chunk; // 8.5 MiB
    {
        SimProcess sim;
        sim.start(args);
        auto client = connectTo(sockets.path());
        kit.prepare(*client);
        REQUIRE(client->flashBegin(std::uint64_t(image.size()), sha).ok());
        for (std::uint64_t offset = 0; offset < sent; offset += chunk)
            REQUIRE(client->flashChunk(offset, image.mid(qsizetype(offset), chunk)).ok());
        ::kill(pid_t(sim.process.processId()), SIGKILL);
        REQUIRE(sim.process.waitForFinished(5000));
    }
    SimProcess sim;
    sim.start(args);
    auto client = connectTo(sockets.path());
    auto resume = client->flashBegin(std::uint64_t(image.size()), sha);
    REQUIRE(resume.ok());
    CHECK(*resume == durable);
    for (std::uint64_t offset = *resume; offset < std::uint64_t(image.size()); offset += chunk)
        REQUIRE(client->flashChunk(offset, image.mid(qsizetype(offset), chunk)).ok());
    auto committed = client->flashCommit();
    REQUIRE(committed.ok());
    CHECK(committed->sha256 == sha);
    client.reset();

    ::kill(pid_t(sim.process.processId()), SIGTERM);
    REQUIRE(sim.process.waitForFinished(5000));
    CHECK(sim.process.exitStatus() == QProcess::NormalExit);
    CHECK(sim.process.exitCode() == 0);
    CHECK_FALSE(QFileInfo::exists(QDir(sockets.path()).filePath(QStringLiteral("port-01.sock"))));
}
