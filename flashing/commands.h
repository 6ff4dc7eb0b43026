#pragma once

#include "common/result.h"
#include "flashing/frame.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <cstdint>
#include <optional>

// Commands and their payloads (docs/device-protocol.md, "Commands"). Each message type encodes
// itself and decodes defensively: every length is bounded, every byte accounted for.
namespace keyline::protocol {

enum class Command : std::uint16_t {
    Identify = 0x0001,
    Challenge = 0x0002,
    EphemeralKey = 0x0003,
    OtpBurn = 0x0010,
    OtpStatus = 0x0011,
    KeystoreWrite = 0x0020,
    KeystoreStatus = 0x0021,
    DeviceKeyGenerate = 0x0030,
    CertificateWrite = 0x0031,
    CertificateRead = 0x0032,
    FlashBegin = 0x0040,
    FlashChunk = 0x0041,
    FlashCommit = 0x0042,
    FlashStatus = 0x0043,
    BootReport = 0x0050,
    FactoryLock = 0x0060,
    Reset = 0x0061,
};

std::optional<Command> commandFromWire(std::uint16_t value);
// Kebab-case names ("flash-commit"), used in logs, fault specs and the command line.
QString commandName(Command command);
QString commandName(std::uint16_t wire);
std::optional<Command> commandFromName(const QString& name);
QList<Command> allCommands();
// Commands a factory-locked device refuses.
bool isProvisioningCommand(Command command);

enum class DeviceError : std::uint16_t {
    UnknownCommand = 1,
    MalformedRequest = 2,
    BadFrame = 3,
    WrongState = 4,
    Locked = 5,
    OtpAlreadyBurned = 6, // burned with another key: never burned again
    OtpNotBurned = 7,
    UnwrapFailed = 8,
    NoEphemeralKey = 9,
    KeystoreRejected = 10,
    NoDeviceKey = 11,
    FlashOffsetMismatch = 12,
    FlashNotStarted = 13,
    FlashIncomplete = 14,
    FlashVerifyFailed = 15,
    StorageFailure = 16,
    Busy = 17,
    Internal = 18,
    NotBootable = 19,
    PackageRejected = 20, // the received image is not a package this device may install
};
QString deviceErrorName(std::uint16_t code);

inline constexpr int kMaxUidSize = 32;
inline constexpr int kMaxTextSize = 128;
inline constexpr int kMaxCertificateSize = 4096;
inline constexpr int kMaxChainLength = 4;
inline constexpr int kMaxSignatureSize = 160;
inline constexpr int kMaxKeystoreSize = 64 * 1024;
inline constexpr int kMaxWrappedKeySize = 64;
inline constexpr int kMinNonceSize = 16;
inline constexpr int kMaxNonceSize = 64;
inline constexpr int kP256PublicKeySize = 65; // uncompressed point 04 || X || Y
inline constexpr int kSha256Size = 32;
inline constexpr int kKeyCheckValueSize = 3;
inline constexpr int kMaxBootComponents = 32;
inline constexpr int kChunkHeaderSize = 8;
// Largest flash-chunk data: the payload limit less the offset field and its length prefix.
inline constexpr int kMaxChunkData = kMaxPayload - kChunkHeaderSize - 4;

struct ErrorResponse {
    std::uint16_t code = 0;
    QString message;
    QByteArray encode() const;
    static Result<ErrorResponse> decode(const QByteArray& payload);
};

enum class Lifecycle : std::uint8_t { Factory = 1, Locked = 2 };
QString lifecycleName(Lifecycle lifecycle);

// What a device reports it already holds, so every engine step can "ensure" rather than "do".
enum ProvisionedFlag : std::uint32_t {
    HasOtpKey = 0x01,
    HasKeystore = 0x02,
    HasDeviceKey = 0x04,
    HasCertificate = 0x08,
    HasFirmware = 0x10,
};
inline constexpr std::uint32_t kKnownProvisionedFlags = 0x1F;

struct IdentifyInfo {
    std::uint8_t protocolVersion = 1;
    QByteArray chipUid;
    QString hardwareRevision;
    QString bootRomVersion;
    Lifecycle lifecycle = Lifecycle::Factory;
    std::uint32_t maxChunk = 0;
    std::uint32_t provisioned = 0;

    bool has(ProvisionedFlag f) const { return provisioned & f; }
    QByteArray encode() const;
    static Result<IdentifyInfo> decode(const QByteArray& payload);
};

struct ChallengeRequest {
    QByteArray nonce;
    QByteArray encode() const;
    static Result<ChallengeRequest> decode(const QByteArray& payload);
};

// The chip proves it holds the identity key certified by the silicon vendor.
struct ChallengeResponse {
    QByteArray chipCertificate; // DER
    QByteArray signature;       // DER ECDSA-SHA256 over challengeMessage()
    QByteArray encode() const;
    static Result<ChallengeResponse> decode(const QByteArray& payload);
};
QByteArray challengeMessage(const QByteArray& chipUid, const QByteArray& nonce);

// A fresh P-256 key for the OTP key agreement, signed by the chip identity key so that the
// station knows it agrees a key with the genuine chip and not with something in between.
struct EphemeralKeyResponse {
    QByteArray publicKey; // uncompressed point
    QByteArray signature; // DER ECDSA-SHA256 over ephemeralKeyMessage()
    QByteArray encode() const;
    static Result<EphemeralKeyResponse> decode(const QByteArray& payload);
};
QByteArray ephemeralKeyMessage(const QByteArray& chipUid, const QByteArray& publicKey);

struct OtpBurnRequest {
    QByteArray stationPublicKey; // uncompressed P-256 point
    QByteArray wrappedKey;       // RFC 5649 AES key wrap under the ECDH shared secret
    QByteArray encode() const;
    static Result<OtpBurnRequest> decode(const QByteArray& payload);
};

// Answer to otp-status and otp-burn. The key itself is never readable, only its check value.
struct OtpStatusResponse {
    bool burned = false;
    QByteArray keyCheckValue; // AES-ECB(key, 0^128) first 3 bytes, empty if not burned
    QByteArray encode() const;
    static Result<OtpStatusResponse> decode(const QByteArray& payload);
};

struct KeystoreWriteRequest {
    QByteArray keystore;
    QByteArray encode() const;
    static Result<KeystoreWriteRequest> decode(const QByteArray& payload);
};

struct KeystoreStatusResponse {
    bool present = false;
    QByteArray sha256; // of the stored keystore, empty if none
    QByteArray encode() const;
    static Result<KeystoreStatusResponse> decode(const QByteArray& payload);
};

struct DeviceKeyRequest {
    QString subject; // the device ID the station assigned; becomes the CSR's commonName
    QByteArray encode() const;
    static Result<DeviceKeyRequest> decode(const QByteArray& payload);
};

struct DeviceKeyResponse {
    bool generated = false; // false: the key existed already and was reused
    QByteArray csr;         // DER PKCS#10
    QByteArray encode() const;
    static Result<DeviceKeyResponse> decode(const QByteArray& payload);
};

struct CertificateChain {
    QList<QByteArray> certificates; // DER, leaf first
    QByteArray encode() const;
    static Result<CertificateChain> decode(const QByteArray& payload);
};

struct FlashBeginRequest {
    std::uint64_t totalSize = 0;
    QByteArray sha256;
    QByteArray encode() const;
    static Result<FlashBeginRequest> decode(const QByteArray& payload);
};

struct FlashChunkRequest {
    std::uint64_t offset = 0;
    QByteArray data;
    QByteArray encode() const;
    static Result<FlashChunkRequest> decode(const QByteArray& payload);
    // As decode(), but `data` refers into `payload`, which must outlive the result: the
    // device's path from link to flash, where a chunk is written and forgotten.
    static Result<FlashChunkRequest> decodeView(const QByteArray& payload);
};

// Answer to flash-begin and flash-chunk: where the next byte goes.
struct FlashProgress {
    std::uint64_t offset = 0;
    QByteArray encode() const;
    static Result<FlashProgress> decode(const QByteArray& payload);
};

enum class FlashState : std::uint8_t {
    Idle = 0,        // nothing started, nothing installed
    Receiving = 1,   // a transfer is under way; resume at offset
    Received = 2,    // all bytes in, hash matches, not yet committed
    Installed = 3,   // committed and verified
    Interrupted = 4, // a commit was cut (power loss); the image is not bootable until re-committed
};
QString flashStateName(FlashState state);

struct FlashStatusResponse {
    FlashState state = FlashState::Idle;
    std::uint64_t totalSize = 0;
    std::uint64_t offset = 0;
    QByteArray sha256; // of the image being received or installed
    QByteArray encode() const;
    static Result<FlashStatusResponse> decode(const QByteArray& payload);
};

struct BootReportRequest {
    QByteArray nonce;
    QByteArray encode() const;
    static Result<BootReportRequest> decode(const QByteArray& payload);
};

// What the device measured while booting. Signed with the device key it generated.
struct BootReport {
    std::uint8_t format = 1;
    QByteArray chipUid;
    QByteArray nonce;
    Lifecycle lifecycle = Lifecycle::Factory;
    bool bootOk = false;
    QString message;        // why boot failed, or "ok"
    QByteArray otpKeyCheck; // empty if no OTP key
    QByteArray keystoreSha256;
    QByteArray firmwareSha256;
    QString osVersion;
    QString appVersion;
    // What secure boot measured in the installed package (docs/package-format.md); empty or 0
    // when nothing verified.
    QByteArray packageMeasurement; // SHA-256 of the package header and manifest
    QByteArray applicationSha256;
    std::uint64_t osCounter = 0;
    std::uint64_t appCounter = 0;
    struct Component {
        QString name;
        QString version;
        QByteArray sha256; // of the decrypted, authenticated component
    };
    QList<Component> components;
    QByteArray encode() const;
    static Result<BootReport> decode(const QByteArray& bytes);
};

struct BootReportResponse {
    QByteArray report;    // BootReport::encode()
    QByteArray signature; // DER ECDSA-SHA256 by the device key over bootReportMessage(report)
    QByteArray encode() const;
    static Result<BootReportResponse> decode(const QByteArray& payload);
};
QByteArray bootReportMessage(const QByteArray& report);

} // namespace keyline::protocol
