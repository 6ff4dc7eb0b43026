#include "flashing/commands.h"

#include "flashing/payload.h"

#include <array>

namespace keyline::protocol {
namespace {

struct CommandEntry {
    Command command;
    const char* name;
    bool provisioning;
};

constexpr std::array kCommands{
    CommandEntry{Command::Identify, "identify", false},
    CommandEntry{Command::Challenge, "challenge", false},
    CommandEntry{Command::EphemeralKey, "ephemeral-key", true},
    CommandEntry{Command::OtpBurn, "otp-burn", true},
    CommandEntry{Command::OtpStatus, "otp-status", false},
    CommandEntry{Command::KeystoreWrite, "keystore-write", true},
    CommandEntry{Command::KeystoreStatus, "keystore-status", false},
    CommandEntry{Command::DeviceKeyGenerate, "device-key-generate", true},
    CommandEntry{Command::CertificateWrite, "certificate-write", true},
    CommandEntry{Command::CertificateRead, "certificate-read", false},
    CommandEntry{Command::FlashBegin, "flash-begin", true},
    CommandEntry{Command::FlashChunk, "flash-chunk", true},
    CommandEntry{Command::FlashCommit, "flash-commit", true},
    CommandEntry{Command::FlashStatus, "flash-status", false},
    CommandEntry{Command::BootReport, "boot-report", false},
    CommandEntry{Command::FactoryLock, "factory-lock", true},
    CommandEntry{Command::Reset, "reset", false},
};

const CommandEntry* entryFor(Command c) {
    for (const auto& e : kCommands)
        if (e.command == c)
            return &e;
    return nullptr;
}

bool readBool(PayloadReader& r, const char* field) {
    std::uint8_t v = r.u8(field);
    if (v > 1)
        r.fail(field, QStringLiteral("must be 0 or 1, not %1").arg(v));
    return v == 1;
}

QByteArray readSha256(PayloadReader& r, const char* field, bool allowEmpty) {
    QByteArray h = r.blob(field, kSha256Size);
    if (!r.failed() && h.size() != kSha256Size && !(allowEmpty && h.isEmpty()))
        r.fail(field, QStringLiteral("must be %1 bytes, not %2").arg(kSha256Size).arg(h.size()));
    return h;
}

QByteArray readNonce(PayloadReader& r) {
    QByteArray n = r.blob("nonce", kMaxNonceSize);
    if (!r.failed() && n.size() < kMinNonceSize)
        r.fail("nonce", QStringLiteral("must be at least %1 bytes").arg(kMinNonceSize));
    return n;
}

QByteArray readPoint(PayloadReader& r, const char* field) {
    QByteArray p = r.blob(field, kP256PublicKeySize);
    if (!r.failed() && (p.size() != kP256PublicKeySize || p[0] != 0x04))
        r.fail(field, QStringLiteral("must be an uncompressed P-256 point (65 bytes, 0x04 first)"));
    return p;
}

template <typename T>
Result<T> finish(PayloadReader& r, T value) {
    KL_TRY(r.finish());
    return value;
}

QByteArray domainMessage(const char* domain, const QByteArray& a, const QByteArray& b) {
    PayloadWriter w;
    w.tail(QByteArray(domain)).blob(a).blob(b);
    return std::move(w).bytes();
}

} // namespace

std::optional<Command> commandFromWire(std::uint16_t value) {
    for (const auto& e : kCommands)
        if (static_cast<std::uint16_t>(e.command) == value)
            return e.command;
    return std::nullopt;
}

QString commandName(Command command) {
    const CommandEntry* e = entryFor(command);
    return e ? QLatin1String(e->name) : commandName(static_cast<std::uint16_t>(command));
}

QString commandName(std::uint16_t wire) {
    if (auto c = commandFromWire(wire))
        return commandName(*c);
    return QStringLiteral("unknown-command-0x%1").arg(wire, 4, 16, QLatin1Char('0'));
}

std::optional<Command> commandFromName(const QString& name) {
    for (const auto& e : kCommands)
        if (name == QLatin1String(e.name))
            return e.command;
    return std::nullopt;
}

QList<Command> allCommands() {
    QList<Command> out;
    for (const auto& e : kCommands)
        out.append(e.command);
    return out;
}

bool isProvisioningCommand(Command command) {
    const CommandEntry* e = entryFor(command);
    return e && e->provisioning;
}

QString deviceErrorName(std::uint16_t code) {
    switch (static_cast<DeviceError>(code)) {
    case DeviceError::UnknownCommand:
        return QStringLiteral("unknown command");
    case DeviceError::MalformedRequest:
        return QStringLiteral("malformed request");
    case DeviceError::BadFrame:
        return QStringLiteral("damaged frame");
    case DeviceError::WrongState:
        return QStringLiteral("wrong state");
    case DeviceError::Locked:
        return QStringLiteral("device is factory-locked");
    case DeviceError::OtpAlreadyBurned:
        return QStringLiteral("OTP already burned with another key");
    case DeviceError::OtpNotBurned:
        return QStringLiteral("OTP not burned");
    case DeviceError::UnwrapFailed:
        return QStringLiteral("key unwrap failed");
    case DeviceError::NoEphemeralKey:
        return QStringLiteral("no ephemeral key");
    case DeviceError::KeystoreRejected:
        return QStringLiteral("keystore rejected");
    case DeviceError::NoDeviceKey:
        return QStringLiteral("no device key");
    case DeviceError::FlashOffsetMismatch:
        return QStringLiteral("flash offset mismatch");
    case DeviceError::FlashNotStarted:
        return QStringLiteral("flash transfer not started");
    case DeviceError::FlashIncomplete:
        return QStringLiteral("flash transfer incomplete");
    case DeviceError::FlashVerifyFailed:
        return QStringLiteral("flash image failed verification");
    case DeviceError::StorageFailure:
        return QStringLiteral("device storage failure");
    case DeviceError::Busy:
        return QStringLiteral("device busy");
    case DeviceError::Internal:
        return QStringLiteral("device internal error");
    case DeviceError::NotBootable:
        return QStringLiteral("device not bootable");
    case DeviceError::PackageRejected:
        return QStringLiteral("package rejected by the device");
    }
    return QStringLiteral("device error %1").arg(code);
}

QString lifecycleName(Lifecycle lifecycle) {
    switch (lifecycle) {
    case Lifecycle::Factory:
        return QStringLiteral("factory");
    case Lifecycle::Locked:
        return QStringLiteral("locked");
    }
    return QStringLiteral("unknown");
}

QString flashStateName(FlashState state) {
    switch (state) {
    case FlashState::Idle:
        return QStringLiteral("idle");
    case FlashState::Receiving:
        return QStringLiteral("receiving");
    case FlashState::Received:
        return QStringLiteral("received");
    case FlashState::Installed:
        return QStringLiteral("installed");
    case FlashState::Interrupted:
        return QStringLiteral("interrupted");
    }
    return QStringLiteral("unknown");
}

QByteArray ErrorResponse::encode() const {
    return PayloadWriter().u16(code).str(message.left(kMaxTextSize * 2)).bytes();
}

Result<ErrorResponse> ErrorResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("error response"));
    ErrorResponse v;
    v.code = r.u16("code");
    v.message = r.str("message", kMaxTextSize * 4);
    return finish(r, v);
}

QByteArray IdentifyInfo::encode() const {
    return PayloadWriter()
        .u8(protocolVersion)
        .blob(chipUid)
        .str(hardwareRevision)
        .str(bootRomVersion)
        .u8(static_cast<std::uint8_t>(lifecycle))
        .u32(maxChunk)
        .u32(provisioned)
        .bytes();
}

Result<IdentifyInfo> IdentifyInfo::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("identify response"));
    IdentifyInfo v;
    v.protocolVersion = r.u8("protocol_version");
    v.chipUid = r.blob("chip_uid", kMaxUidSize);
    if (!r.failed() && v.chipUid.isEmpty())
        r.fail("chip_uid", QStringLiteral("is empty"));
    v.hardwareRevision = r.str("hardware_revision", kMaxTextSize);
    v.bootRomVersion = r.str("boot_rom_version", kMaxTextSize);
    std::uint8_t lc = r.u8("lifecycle");
    if (lc != 1 && lc != 2)
        r.fail("lifecycle", QStringLiteral("has unknown value %1").arg(lc));
    v.lifecycle = static_cast<Lifecycle>(lc);
    v.maxChunk = r.u32("max_chunk");
    if (!r.failed() && (v.maxChunk < 512 || v.maxChunk > std::uint32_t(kMaxChunkData)))
        r.fail("max_chunk",
               QStringLiteral("%1 is outside 512..%2").arg(v.maxChunk).arg(kMaxChunkData));
    v.provisioned = r.u32("provisioned");
    if (v.provisioned & ~kKnownProvisionedFlags)
        r.fail("provisioned", QStringLiteral("has unknown bits 0x%1").arg(v.provisioned, 0, 16));
    return finish(r, v);
}

QByteArray ChallengeRequest::encode() const {
    return PayloadWriter().blob(nonce).bytes();
}

Result<ChallengeRequest> ChallengeRequest::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("challenge request"));
    ChallengeRequest v;
    v.nonce = readNonce(r);
    return finish(r, v);
}

QByteArray ChallengeResponse::encode() const {
    return PayloadWriter().blob(chipCertificate).blob(signature).bytes();
}

Result<ChallengeResponse> ChallengeResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("challenge response"));
    ChallengeResponse v;
    v.chipCertificate = r.blob("chip_certificate", kMaxCertificateSize);
    v.signature = r.blob("signature", kMaxSignatureSize);
    if (!r.failed() && (v.chipCertificate.isEmpty() || v.signature.isEmpty()))
        r.fail("chip_certificate", QStringLiteral("or signature is empty"));
    return finish(r, v);
}

QByteArray challengeMessage(const QByteArray& chipUid, const QByteArray& nonce) {
    return domainMessage("KEYLINE-CHIP-CHALLENGE-V1", chipUid, nonce);
}

QByteArray EphemeralKeyResponse::encode() const {
    return PayloadWriter().blob(publicKey).blob(signature).bytes();
}

Result<EphemeralKeyResponse> EphemeralKeyResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("ephemeral-key response"));
    EphemeralKeyResponse v;
    v.publicKey = readPoint(r, "public_key");
    v.signature = r.blob("signature", kMaxSignatureSize);
    if (!r.failed() && v.signature.isEmpty())
        r.fail("signature", QStringLiteral("is empty"));
    return finish(r, v);
}

QByteArray ephemeralKeyMessage(const QByteArray& chipUid, const QByteArray& publicKey) {
    return domainMessage("KEYLINE-EPHEMERAL-KEY-V1", chipUid, publicKey);
}

QByteArray OtpBurnRequest::encode() const {
    return PayloadWriter().blob(stationPublicKey).blob(wrappedKey).bytes();
}

Result<OtpBurnRequest> OtpBurnRequest::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("otp-burn request"));
    OtpBurnRequest v;
    v.stationPublicKey = readPoint(r, "station_public_key");
    v.wrappedKey = r.blob("wrapped_key", kMaxWrappedKeySize);
    if (!r.failed() && (v.wrappedKey.size() < 24 || v.wrappedKey.size() % 8 != 0))
        r.fail("wrapped_key",
               QStringLiteral("is not an RFC 5649 wrapping (%1 bytes)").arg(v.wrappedKey.size()));
    return finish(r, v);
}

QByteArray OtpStatusResponse::encode() const {
    return PayloadWriter().u8(burned ? 1 : 0).blob(keyCheckValue).bytes();
}

Result<OtpStatusResponse> OtpStatusResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("otp-status response"));
    OtpStatusResponse v;
    v.burned = readBool(r, "burned");
    v.keyCheckValue = r.blob("key_check_value", kKeyCheckValueSize);
    if (!r.failed() && v.keyCheckValue.size() != (v.burned ? kKeyCheckValueSize : 0))
        r.fail(
            "key_check_value",
            QStringLiteral("has %1 bytes for burned=%2").arg(v.keyCheckValue.size()).arg(v.burned));
    return finish(r, v);
}

QByteArray KeystoreWriteRequest::encode() const {
    return PayloadWriter().blob(keystore).bytes();
}

Result<KeystoreWriteRequest> KeystoreWriteRequest::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("keystore-write request"));
    KeystoreWriteRequest v;
    v.keystore = r.blob("keystore", kMaxKeystoreSize);
    if (!r.failed() && v.keystore.isEmpty())
        r.fail("keystore", QStringLiteral("is empty"));
    return finish(r, v);
}

QByteArray KeystoreStatusResponse::encode() const {
    return PayloadWriter().u8(present ? 1 : 0).blob(sha256).bytes();
}

Result<KeystoreStatusResponse> KeystoreStatusResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("keystore-status response"));
    KeystoreStatusResponse v;
    v.present = readBool(r, "present");
    v.sha256 = readSha256(r, "sha256", !v.present);
    if (!r.failed() && !v.present && !v.sha256.isEmpty())
        r.fail("sha256", QStringLiteral("is set although no keystore is present"));
    return finish(r, v);
}

QByteArray DeviceKeyRequest::encode() const {
    return PayloadWriter().str(subject).bytes();
}

Result<DeviceKeyRequest> DeviceKeyRequest::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("device-key-generate request"));
    DeviceKeyRequest v;
    v.subject = r.str("subject", 64);
    if (!r.failed() && v.subject.isEmpty())
        r.fail("subject", QStringLiteral("is empty"));
    return finish(r, v);
}

QByteArray DeviceKeyResponse::encode() const {
    return PayloadWriter().u8(generated ? 1 : 0).blob(csr).bytes();
}

Result<DeviceKeyResponse> DeviceKeyResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("device-key-generate response"));
    DeviceKeyResponse v;
    v.generated = readBool(r, "generated");
    v.csr = r.blob("csr", kMaxCertificateSize);
    if (!r.failed() && v.csr.isEmpty())
        r.fail("csr", QStringLiteral("is empty"));
    return finish(r, v);
}

QByteArray CertificateChain::encode() const {
    PayloadWriter w;
    w.u8(static_cast<std::uint8_t>(certificates.size()));
    for (const auto& c : certificates)
        w.blob(c);
    return std::move(w).bytes();
}

Result<CertificateChain> CertificateChain::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("certificate chain"));
    CertificateChain v;
    std::uint8_t count = r.u8("count");
    if (count > kMaxChainLength)
        r.fail("count",
               QStringLiteral("%1 exceeds the limit of %2").arg(count).arg(kMaxChainLength));
    for (int i = 0; i < count && !r.failed(); ++i) {
        QByteArray der = r.blob("certificate", kMaxCertificateSize);
        if (!r.failed() && der.isEmpty())
            r.fail("certificate", QStringLiteral("%1 is empty").arg(i));
        v.certificates.append(der);
    }
    return finish(r, v);
}

QByteArray FlashBeginRequest::encode() const {
    return PayloadWriter().u64(totalSize).blob(sha256).bytes();
}

Result<FlashBeginRequest> FlashBeginRequest::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("flash-begin request"));
    FlashBeginRequest v;
    v.totalSize = r.u64("total_size");
    if (!r.failed() && v.totalSize == 0)
        r.fail("total_size", QStringLiteral("is zero"));
    v.sha256 = readSha256(r, "sha256", false);
    return finish(r, v);
}

QByteArray FlashChunkRequest::encode() const {
    return PayloadWriter().u64(offset).blob(data).bytes();
}

Result<FlashChunkRequest> FlashChunkRequest::decode(const QByteArray& payload) {
    KL_TRY_ASSIGN(FlashChunkRequest v, decodeView(payload));
    v.data = QByteArray(v.data.constData(), v.data.size()); // own the bytes
    return v;
}

Result<FlashChunkRequest> FlashChunkRequest::decodeView(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("flash-chunk request"));
    FlashChunkRequest v;
    v.offset = r.u64("offset");
    v.data = r.blobView("data", kMaxChunkData);
    if (!r.failed() && v.data.isEmpty())
        r.fail("data", QStringLiteral("is empty"));
    return finish(r, v);
}

QByteArray FlashProgress::encode() const {
    return PayloadWriter().u64(offset).bytes();
}

Result<FlashProgress> FlashProgress::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("flash progress"));
    FlashProgress v;
    v.offset = r.u64("offset");
    return finish(r, v);
}

QByteArray FlashStatusResponse::encode() const {
    return PayloadWriter()
        .u8(static_cast<std::uint8_t>(state))
        .u64(totalSize)
        .u64(offset)
        .blob(sha256)
        .bytes();
}

Result<FlashStatusResponse> FlashStatusResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("flash-status response"));
    FlashStatusResponse v;
    std::uint8_t s = r.u8("state");
    if (s > static_cast<std::uint8_t>(FlashState::Interrupted))
        r.fail("state", QStringLiteral("has unknown value %1").arg(s));
    v.state = static_cast<FlashState>(s);
    v.totalSize = r.u64("total_size");
    v.offset = r.u64("offset");
    if (!r.failed() && v.offset > v.totalSize)
        r.fail("offset", QStringLiteral("%1 is past total_size %2").arg(v.offset).arg(v.totalSize));
    v.sha256 = readSha256(r, "sha256", v.state == FlashState::Idle);
    return finish(r, v);
}

QByteArray BootReportRequest::encode() const {
    return PayloadWriter().blob(nonce).bytes();
}

Result<BootReportRequest> BootReportRequest::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("boot-report request"));
    BootReportRequest v;
    v.nonce = readNonce(r);
    return finish(r, v);
}

QByteArray BootReport::encode() const {
    PayloadWriter w;
    w.u8(format)
        .blob(chipUid)
        .blob(nonce)
        .u8(static_cast<std::uint8_t>(lifecycle))
        .u8(bootOk ? 1 : 0)
        .str(message)
        .blob(otpKeyCheck)
        .blob(keystoreSha256)
        .blob(firmwareSha256)
        .str(osVersion)
        .str(appVersion)
        .blob(packageMeasurement)
        .blob(applicationSha256)
        .u64(osCounter)
        .u64(appCounter);
    w.u8(static_cast<std::uint8_t>(components.size()));
    for (const Component& c : components)
        w.str(c.name).str(c.version).blob(c.sha256);
    return w.bytes();
}

Result<BootReport> BootReport::decode(const QByteArray& bytes) {
    PayloadReader r(bytes, QStringLiteral("boot report"));
    BootReport v;
    v.format = r.u8("format");
    if (!r.failed() && v.format != 1)
        r.fail("format", QStringLiteral("version %1 is not supported").arg(v.format));
    v.chipUid = r.blob("chip_uid", kMaxUidSize);
    v.nonce = readNonce(r);
    std::uint8_t lc = r.u8("lifecycle");
    if (lc != 1 && lc != 2)
        r.fail("lifecycle", QStringLiteral("has unknown value %1").arg(lc));
    v.lifecycle = static_cast<Lifecycle>(lc);
    v.bootOk = readBool(r, "boot_ok");
    v.message = r.str("message", kMaxTextSize * 2);
    v.otpKeyCheck = r.blob("otp_key_check", kKeyCheckValueSize);
    v.keystoreSha256 = readSha256(r, "keystore_sha256", true);
    v.firmwareSha256 = readSha256(r, "firmware_sha256", true);
    v.osVersion = r.str("os_version", kMaxTextSize);
    v.appVersion = r.str("app_version", kMaxTextSize);
    v.packageMeasurement = readSha256(r, "package_measurement", true);
    v.applicationSha256 = readSha256(r, "application_sha256", true);
    v.osCounter = r.u64("os_counter");
    v.appCounter = r.u64("app_counter");
    const int count = r.u8("component_count");
    if (!r.failed() && count > kMaxBootComponents)
        r.fail("component_count",
               QStringLiteral("is %1, more than %2").arg(count).arg(kMaxBootComponents));
    for (int i = 0; i < count && !r.failed(); ++i) {
        BootReport::Component c;
        c.name = r.str("component_name", kMaxTextSize);
        c.version = r.str("component_version", kMaxTextSize);
        c.sha256 = readSha256(r, "component_sha256", false);
        v.components.append(c);
    }
    return finish(r, v);
}

QByteArray BootReportResponse::encode() const {
    return PayloadWriter().blob(report).blob(signature).bytes();
}

Result<BootReportResponse> BootReportResponse::decode(const QByteArray& payload) {
    PayloadReader r(payload, QStringLiteral("boot-report response"));
    BootReportResponse v;
    v.report = r.blob("report", 4096);
    v.signature = r.blob("signature", kMaxSignatureSize);
    if (!r.failed() && v.signature.isEmpty())
        r.fail("signature", QStringLiteral("is empty"));
    return finish(r, v);
}

QByteArray bootReportMessage(const QByteArray& report) {
    return domainMessage("KEYLINE-BOOT-REPORT-V1", report, QByteArray());
}

} // namespace keyline::protocol
