#include "flashing/commands.h"
#include "flashing/payload.h"

#include <catch2/catch.hpp>

using namespace keyline;
using namespace keyline::protocol;

namespace {

QByteArray point() {
    return QByteArray(1, '\x04') + QByteArray(64, '\x11');
}

} // namespace

TEST_CASE("commands: names and wire values map both ways", "[commands]") {
    for (Command c : allCommands()) {
        auto byName = commandFromName(commandName(c));
        REQUIRE(byName.has_value());
        CHECK(*byName == c);
        CHECK(commandFromWire(static_cast<std::uint16_t>(c)) == c);
    }
    CHECK_FALSE(commandFromWire(0x7777).has_value());
    CHECK(commandName(std::uint16_t(0x7777)) == QStringLiteral("unknown-command-0x7777"));
    CHECK_FALSE(commandFromName(QStringLiteral("format-disk")).has_value());
    CHECK(isProvisioningCommand(Command::OtpBurn));
    CHECK(isProvisioningCommand(Command::FlashChunk));
    CHECK_FALSE(isProvisioningCommand(Command::Identify));
    CHECK_FALSE(isProvisioningCommand(Command::BootReport));
}

TEST_CASE("commands: every message round-trips", "[commands]") {
    IdentifyInfo id;
    id.chipUid = QByteArray::fromHex("00112233445566778899aabbccddeeff");
    id.hardwareRevision = QStringLiteral("B2");
    id.bootRomVersion = QStringLiteral("1.4.0");
    id.lifecycle = Lifecycle::Factory;
    id.maxChunk = 65536;
    id.provisioned = HasOtpKey | HasFirmware;
    auto id2 = IdentifyInfo::decode(id.encode());
    REQUIRE(id2.ok());
    CHECK(id2->chipUid == id.chipUid);
    CHECK(id2->hardwareRevision == id.hardwareRevision);
    CHECK(id2->bootRomVersion == id.bootRomVersion);
    CHECK(id2->maxChunk == 65536);
    CHECK(id2->has(HasOtpKey));
    CHECK_FALSE(id2->has(HasKeystore));

    OtpBurnRequest burn{point(), QByteArray(40, '\x22')};
    auto burn2 = OtpBurnRequest::decode(burn.encode());
    REQUIRE(burn2.ok());
    CHECK(burn2->wrappedKey == burn.wrappedKey);

    CertificateChain chain{{"leaf-der", "ca-der"}};
    auto chain2 = CertificateChain::decode(chain.encode());
    REQUIRE(chain2.ok());
    CHECK(chain2->certificates == chain.certificates);

    FlashStatusResponse st{FlashState::Receiving, 1000, 500, QByteArray(32, '\x01')};
    auto st2 = FlashStatusResponse::decode(st.encode());
    REQUIRE(st2.ok());
    CHECK(st2->state == FlashState::Receiving);
    CHECK(st2->offset == 500);

    BootReport report;
    report.chipUid = id.chipUid;
    report.nonce = QByteArray(32, 'n');
    report.bootOk = true;
    report.message = QStringLiteral("ok");
    report.otpKeyCheck = QByteArray(3, 'k');
    report.keystoreSha256 = QByteArray(32, 'a');
    report.firmwareSha256 = QByteArray(32, 'b');
    report.osVersion = QStringLiteral("os-2.1.0");
    report.appVersion = QStringLiteral("app-1.0.3");
    auto report2 = BootReport::decode(report.encode());
    REQUIRE(report2.ok());
    CHECK(report2->osVersion == report.osVersion);
    CHECK(report2->bootOk);

    ErrorResponse err{static_cast<std::uint16_t>(DeviceError::Locked), QStringLiteral("locked")};
    auto err2 = ErrorResponse::decode(err.encode());
    REQUIRE(err2.ok());
    CHECK(err2->code == 5);
}

TEST_CASE("commands: malformed payloads are refused with the field named",
          "[commands][malformed]") {
    auto failsWith = [](const auto& result, const char* needle) {
        REQUIRE_FALSE(result.ok());
        CHECK(result.error().code() == ErrorCode::ProtocolViolation);
        INFO(result.error().toString().toStdString());
        CHECK(result.error().message().contains(QLatin1String(needle)));
    };

    SECTION("identify with an unknown lifecycle") {
        IdentifyInfo id;
        id.chipUid = "uid";
        id.maxChunk = 4096;
        QByteArray b = id.encode();
        b[b.size() - 9] = 9; // lifecycle byte precedes max_chunk and provisioned
        failsWith(IdentifyInfo::decode(b), "lifecycle");
    }
    SECTION("identify with an impossible chunk size") {
        IdentifyInfo id;
        id.chipUid = "uid";
        id.maxChunk = 10;
        failsWith(IdentifyInfo::decode(id.encode()), "max_chunk");
    }
    SECTION("identify with unknown provisioned bits") {
        IdentifyInfo id;
        id.chipUid = "uid";
        id.maxChunk = 4096;
        id.provisioned = 0x80;
        failsWith(IdentifyInfo::decode(id.encode()), "provisioned");
    }
    SECTION("identify with an empty uid") {
        IdentifyInfo id;
        id.maxChunk = 4096;
        failsWith(IdentifyInfo::decode(id.encode()), "chip_uid");
    }
    SECTION("nonce too short") {
        failsWith(ChallengeRequest::decode(ChallengeRequest{"short"}.encode()), "nonce");
    }
    SECTION("compressed point instead of uncompressed") {
        QByteArray p = point();
        p[0] = 0x02;
        failsWith(OtpBurnRequest::decode(OtpBurnRequest{p, QByteArray(40, 'w')}.encode()),
                  "station_public_key");
    }
    SECTION("wrapped key that is no RFC 5649 wrapping") {
        failsWith(OtpBurnRequest::decode(OtpBurnRequest{point(), QByteArray(13, 'w')}.encode()),
                  "wrapped_key");
    }
    SECTION("otp status: burned without a check value") {
        failsWith(OtpStatusResponse::decode(OtpStatusResponse{true, {}}.encode()),
                  "key_check_value");
    }
    SECTION("bool out of range") {
        failsWith(OtpStatusResponse::decode(PayloadWriter().u8(7).blob({}).bytes()), "burned");
    }
    SECTION("sha256 of the wrong size") {
        failsWith(FlashBeginRequest::decode(FlashBeginRequest{100, QByteArray(31, 'h')}.encode()),
                  "sha256");
    }
    SECTION("zero-size flash image") {
        failsWith(FlashBeginRequest::decode(FlashBeginRequest{0, QByteArray(32, 'h')}.encode()),
                  "total_size");
    }
    SECTION("empty flash chunk") {
        failsWith(FlashChunkRequest::decode(FlashChunkRequest{0, {}}.encode()), "data");
    }
    SECTION("flash status with offset past the end") {
        FlashStatusResponse st{FlashState::Receiving, 10, 11, QByteArray(32, 'h')};
        failsWith(FlashStatusResponse::decode(st.encode()), "offset");
    }
    SECTION("certificate chain too long") {
        CertificateChain c;
        for (int i = 0; i < 5; ++i)
            c.certificates.append("der");
        failsWith(CertificateChain::decode(c.encode()), "count");
    }
    SECTION("certificate chain count larger than the certificates present") {
        QByteArray b = CertificateChain{{"a"}}.encode();
        b[0] = 3;
        failsWith(CertificateChain::decode(b), "certificate");
    }
    SECTION("boot report of an unknown format") {
        BootReport r;
        r.format = 2;
        r.nonce = QByteArray(16, 'n');
        failsWith(BootReport::decode(r.encode()), "format");
    }
    SECTION("empty payload where fields are required") {
        failsWith(DeviceKeyRequest::decode({}), "subject");
        failsWith(KeystoreStatusResponse::decode({}), "present");
    }
}

TEST_CASE("commands: signed messages are domain-separated", "[commands]") {
    QByteArray uid("uid"), data(32, 'x');
    CHECK(challengeMessage(uid, data) != ephemeralKeyMessage(uid, data));
    CHECK(challengeMessage(uid, data).startsWith("KEYLINE-CHIP-CHALLENGE-V1"));
    // Length prefixes keep (uid, nonce) splits unambiguous.
    CHECK(challengeMessage("ab", "c") != challengeMessage("a", "bc"));
}

TEST_CASE("commands: a flash chunk decoded as a view shares the payload's bytes", "[commands]") {
    const QByteArray payload = FlashChunkRequest{4096, QByteArray(1000, 'z')}.encode();
    auto copy = FlashChunkRequest::decode(payload);
    auto view = FlashChunkRequest::decodeView(payload);
    REQUIRE(copy.ok());
    REQUIRE(view.ok());
    CHECK(view->offset == 4096);
    CHECK(view->data == copy->data);
    CHECK(view->data.constData() == payload.constData() + 12); // no copy was made
    CHECK(copy->data.constData() != payload.constData() + 12);
    CHECK_FALSE(FlashChunkRequest::decodeView(payload.left(20)).ok());
}
