#pragma once

#include "flashing/commands.h"
#include "sim/device_store.h"
#include "sim/keystore_verifier.h"
#include "sim/ossl.h"
#include "sim/secure_boot.h"
#include "sim/simulator.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

namespace keyline::sim {

class SharedKeyFile;

// The hardware revision every virtual wearable reports; packages list it as compatible.
inline constexpr const char* kSimHardwareRevision = "KW-1 rev B";

// What the device answers to one request.
struct Reply {
    QByteArray payload;                         // the success payload
    std::optional<protocol::DeviceError> error; // set: an error answer with `message`
    QString message;
    std::chrono::microseconds work{0}; // device-side time the command took (Timing)
    bool powerLoss = false;            // the device lost power before it could answer
    bool rebootAfter = false;          // answer, then the link drops (reset)

    static Reply ok(QByteArray payload = {}) {
        Reply r;
        r.payload = std::move(payload);
        return r;
    }
    static Reply refuse(protocol::DeviceError code, QString why) {
        Reply r;
        r.error = code;
        r.message = std::move(why);
        return r;
    }
};

// Fault behaviour that lives inside the device (the others act on the link, in DeviceSession).
struct DeviceFaults {
    bool rngRepeat = false;
    bool brownoutAtCommit = false;
};

// One virtual wearable: the command semantics of docs/device-protocol.md on top of its
// persistent state. Thread-safe: every public method takes the device's lock.
class VirtualDevice {
public:
    struct Config {
        Timing timing;
        int maxChunk = 256 * 1024;
        DeviceFaults faults;
        SharedKeyFile* sharedKey = nullptr; // for rng-repeat
        // The vendor keystore signing public key in the boot ROM; null: none, and
        // keystore-write refuses every keystore.
        firmware::PublicKey vendorKeystoreKey;
    };

    static Result<std::unique_ptr<VirtualDevice>> open(DeviceStore store, Config config);
    // Creates a new device's state and opens it. The caller supplies identity, the chip key
    // (`state.chipKeyPem` parsed) and manufacture-time faults.
    static Result<std::unique_ptr<VirtualDevice>>
    manufacture(DeviceStore store, Config config, DeviceState state, ossl::Pkey chipKey);
    ~VirtualDevice();

    Reply handle(protocol::Command command, const QByteArray& payload);

    QByteArray chipUid() const;
    bool locked() const;

    // Once-only link faults are remembered in the device so that they fire once per device.
    bool faultFired(const QString& key) const;
    Result<void> markFaultFired(const QString& key);
    // Bookkeeping for link faults: bytes received since the simulator started, flash chunks seen.
    std::uint64_t addReceivedBytes(std::uint64_t count);
    int nextFlashChunkNumber();
    // The link dropped (cable pulled, reset): volatile state is gone, received flash bytes
    // are flushed so that flash-begin can resume exactly there.
    void linkDropped();

private:
    VirtualDevice(DeviceStore store, Config config, DeviceState state, FlashRecord flash);

    Reply dispatch(protocol::Command command, const QByteArray& payload);
    Reply identify(const QByteArray& payload);
    Reply challenge(const QByteArray& payload);
    Reply ephemeralKey(const QByteArray& payload);
    Reply otpBurn(const QByteArray& payload);
    Reply otpStatus(const QByteArray& payload);
    Reply keystoreWrite(const QByteArray& payload);
    Reply keystoreStatus(const QByteArray& payload);
    Reply deviceKeyGenerate(const QByteArray& payload);
    Reply certificateWrite(const QByteArray& payload);
    Reply certificateRead(const QByteArray& payload);
    Reply flashBegin(const QByteArray& payload);
    Reply flashChunk(const QByteArray& payload);
    Reply flashCommit(const QByteArray& payload);
    Reply flashStatus(const QByteArray& payload);
    Reply bootReport(const QByteArray& payload);
    Reply factoryLock(const QByteArray& payload);
    Reply reset(const QByteArray& payload);

    // Helpers (device_flash.cpp).
    protocol::FlashStatusResponse currentFlashStatus() const;
    bool firmwareInstalled() const;
    Result<void> openReceivingImage(bool truncate);
    Result<void> makeReceivedBytesDurable();
    Result<void> install();
    // Drops the transfer under way so that flash-begin starts over; the installed image stays.
    Result<void> abandonTransfer();
    // Raises the anti-rollback counters to those of a package that verified (never lowers).
    Result<void> raiseCounters(const firmware::VerifiedPackage& verified);
    void closeReceivingImage();

    // Commits a state change; the answer waits for it (crash safety).
    Result<void> saveState(const DeviceState& next);
    std::uint32_t provisionedFlags() const;
    std::chrono::microseconds usecs(std::chrono::milliseconds ms) const;
    std::chrono::microseconds bytesAt(double bytesPerSecond, std::uint64_t bytes) const;

    mutable std::mutex m_mutex;
    DeviceStore m_store;
    Config m_config;
    DeviceState m_state;
    FlashRecord m_flash;
    KeystoreVerifier m_keystoreVerifier;
    SecureBoot m_secureBoot;
    ossl::Pkey m_chipKey;
    ossl::Pkey m_deviceKey;
    ossl::Pkey m_ephemeralKey;          // volatile: gone after one otp-burn or a power cycle
    std::uint64_t m_receivedOffset = 0; // flash bytes written (>= the durable offset)
    // The image hashed as it arrives, as a bootloader does, while the chunks come in order
    // from offset 0 in this process; otherwise the commit hashes the file.
    std::optional<ossl::Sha256Stream> m_receivedHash;
    int m_imageFd = -1;
    std::uint64_t m_bytesReceived = 0;
    int m_flashChunks = 0;
};

// An error answer for a request payload that did not decode; the message names the field.
Reply malformed(const Error& error);
Reply storageFailure(const Error& error);
// An error answer for a command without request fields that came with some.
Reply unexpectedPayload(protocol::Command command, const QByteArray& payload);

} // namespace keyline::sim
