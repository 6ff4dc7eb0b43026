// FlashWriter against the virtual wearable over its Unix socket: transfer, resume, damaged
// chunks, interrupted commits, cancellation and "ensure" semantics.
#include "flashing/flash_writer.h"
#include "flashing/socket_transport.h"
#include "package_kit.h"
#include "sim/simulator.h"
#include "vendor_keystore.h"

#include <QTemporaryDir>
#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::flashing;
using protocol::FlashState;

namespace {

// The device only installs packages that verify (secure install), so the images are real
// packages for a device whose OTP key and keystore the kit set up.
struct SimOnSocket {
    QTemporaryDir dir{QStringLiteral("/tmp/kl-fw-XXXXXX")};
    std::unique_ptr<sim::Simulator> simulator;
    devicetest::PackageKit kit;

    explicit SimOnSocket(QList<sim::FaultSpec> faults = {}) {
        sim::SimOptions o;
        o.ports = 1;
        o.stateDir = dir.filePath(QStringLiteral("state"));
        o.socketDir = dir.filePath(QStringLiteral("s"));
        o.timing = sim::Timing::none();
        o.maxChunk = 64 * 1024;
        o.faults = std::move(faults);
        o.vendorKeystoreKeyPath = devicetest::VendorKeystoreKey::instance().publicKeyPath();
        simulator = std::make_unique<sim::Simulator>(o);
        REQUIRE(simulator->load().ok());
        REQUIRE(simulator->startServing().ok());
        kit.prepare(*connect());
    }

    // A package whose OS is `osBytes` long.
    FlashImage makeImage(qsizetype osBytes) const {
        devicetest::Release release;
        release.osBytes = osBytes;
        return FlashImage::of(kit.package(release));
    }
    ~SimOnSocket() { simulator->stop(); }

    std::unique_ptr<DeviceClient> connect() {
        PortInfo port{
            QStringLiteral("sim:port-01"), QStringLiteral("sim"), {}, simulator->socketPath(1)};
        auto transport = SocketTransport::connect(port);
        REQUIRE(transport.ok());
        return std::make_unique<DeviceClient>(std::move(*transport));
    }
};

sim::FaultSpec fault(sim::FaultKind kind, QString argument = {}) {
    return sim::FaultSpec{1, kind, std::move(argument)};
}

} // namespace

TEST_CASE("flash writer: an image arrives whole and is installed", "[flash]") {
    SimOnSocket sim;
    auto client = sim.connect();
    FlashImage image = sim.makeImage(3 * 1024 * 1024 + 123); // not a multiple of the chunk size
    std::uint64_t last = 0;
    bool monotonic = true;
    FlashWriter writer(*client, {16 * 1024, 4, 3});
    auto status = writer.write(image, 64 * 1024, [&](std::uint64_t done, std::uint64_t total) {
        monotonic = monotonic && done > last && total == std::uint64_t(image.bytes.size());
        last = done;
    });
    REQUIRE(status.ok());
    CHECK(status->state == FlashState::Installed);
    CHECK(status->sha256 == sha256(image.bytes));
    CHECK(monotonic);
    CHECK(last == std::uint64_t(image.bytes.size()));
    CHECK(writer.bytesSent() == std::uint64_t(image.bytes.size()));
}

TEST_CASE("flash writer: an installed image is not sent again", "[flash]") {
    SimOnSocket sim;
    FlashImage image = sim.makeImage(200 * 1024);
    {
        auto client = sim.connect();
        FlashWriter writer(*client);
        REQUIRE(writer.write(image, 64 * 1024).ok());
    }
    auto client = sim.connect();
    FlashWriter writer(*client);
    auto again = writer.write(image, 64 * 1024);
    REQUIRE(again.ok());
    CHECK(again->state == FlashState::Installed);
    CHECK(writer.bytesSent() == 0);

    // A different package (the same release sealed again: another IV) is sent in full.
    const FlashImage other = sim.makeImage(200 * 1024);
    REQUIRE(other.sha256 != image.sha256);
    FlashWriter third(*client);
    REQUIRE(third.write(other, 64 * 1024).ok());
    CHECK(third.bytesSent() == std::uint64_t(other.bytes.size()));
}

TEST_CASE("flash writer: a cable pulled mid-transfer resumes from the last good offset",
          "[flash]") {
    SimOnSocket sim({fault(sim::FaultKind::DisconnectAfterBytes, QStringLiteral("2600000"))});
    FlashImage image = sim.makeImage(4 * 1024 * 1024);
    {
        auto client = sim.connect();
        FlashWriter writer(*client);
        auto cut = writer.write(image, 64 * 1024);
        REQUIRE_FALSE(cut.ok());
        CHECK(cut.error().code() == ErrorCode::Disconnected);
    }
    auto client = sim.connect();
    auto before = client->flashStatus();
    REQUIRE(before.ok());
    CHECK(before->state == FlashState::Receiving);
    CHECK(before->offset > 0);
    FlashWriter writer(*client);
    auto done = writer.write(image, 64 * 1024);
    REQUIRE(done.ok());
    CHECK(done->state == FlashState::Installed);
    CHECK(writer.bytesSent() == std::uint64_t(image.bytes.size()) - before->offset);
    CHECK(writer.bytesSent() < std::uint64_t(image.bytes.size()));
}

TEST_CASE("flash writer: a chunk damaged in transit is sent again", "[flash]") {
    SimOnSocket sim({fault(sim::FaultKind::CorruptChunk, QStringLiteral("3"))});
    auto client = sim.connect();
    FlashImage image = sim.makeImage(1024 * 1024);
    FlashWriter writer(*client, {32 * 1024, 4, 3});
    auto status = writer.write(image, 64 * 1024);
    REQUIRE(status.ok());
    CHECK(status->state == FlashState::Installed);
    CHECK(status->sha256 == sha256(image.bytes));
    CHECK(writer.bytesSent() > std::uint64_t(image.bytes.size())); // the damaged region went twice
}

TEST_CASE("flash writer: a commit cut by power loss is completed without re-sending", "[flash]") {
    SimOnSocket sim({fault(sim::FaultKind::BrownoutAtCommit)});
    FlashImage image = sim.makeImage(512 * 1024);
    {
        auto client = sim.connect();
        FlashWriter writer(*client);
        auto cut = writer.write(image, 64 * 1024);
        REQUIRE_FALSE(cut.ok());
        CHECK(cut.error().code() == ErrorCode::Disconnected);
    }
    auto client = sim.connect();
    auto st = client->flashStatus();
    REQUIRE(st.ok());
    CHECK(st->state == FlashState::Interrupted);
    FlashWriter writer(*client);
    auto done = writer.write(image, 64 * 1024);
    REQUIRE(done.ok());
    CHECK(done->state == FlashState::Installed);
    CHECK(writer.bytesSent() == 0);
}

TEST_CASE("flash writer: cancellation stops the transfer with a clear error", "[flash]") {
    SimOnSocket sim;
    auto client = sim.connect();
    std::atomic<bool> cancel{false};
    FlashWriter writer(*client, {16 * 1024, 2, 3});
    auto r = writer.write(
        sim.makeImage(2 * 1024 * 1024), 64 * 1024,
        [&](std::uint64_t done, std::uint64_t) { cancel = done >= 256 * 1024; }, &cancel);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::Refused);
    CHECK(r.error().message().contains(QStringLiteral("cancelled")));
}

TEST_CASE("flash writer: nonsense arguments are refused before anything is sent", "[flash]") {
    SimOnSocket sim;
    auto client = sim.connect();
    FlashWriter writer(*client, {100, 4, 3});
    CHECK(writer.write(FlashImage{}, 64 * 1024).error().code() == ErrorCode::InvalidArgument);
    CHECK(writer.write(FlashImage{QByteArray(4096, 'x'), {}}, 64 * 1024).error().code() ==
          ErrorCode::InvalidArgument);
    CHECK(writer.write(sim.makeImage(4096), 64 * 1024).error().code() ==
          ErrorCode::InvalidArgument);
}

TEST_CASE("flash writer: with no re-sends allowed a damaged chunk fails the transfer", "[flash]") {
    SimOnSocket sim({fault(sim::FaultKind::CorruptChunk, QStringLiteral("2"))});
    auto client = sim.connect();
    FlashWriter writer(*client, {32 * 1024, 4, 0});
    auto r = writer.write(sim.makeImage(512 * 1024), 64 * 1024);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::DeviceRefused);
    CHECK(protocol::DeviceError(r.error().detail()) == protocol::DeviceError::BadFrame);
}
