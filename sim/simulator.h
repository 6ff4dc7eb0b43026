#pragma once

// CONTRACT (written before the implementation; the sim owner may extend, not break it).
// The USB test harness and the protocol test suite depend on exactly these names.

#include "common/result.h"
#include "sim/atomic_file.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

namespace keyline::sim {

// Device-side delays. Realistic() is the default of keyline-wearable-sim; none() is for tests
// and benchmarks. Every figure is configurable and documented in docs/wearable-sim.md.
struct Timing {
    double usbBytesPerSecond = 35e6;  // USB 2.0 high-speed bulk, as measured on real hubs
    double flashBytesPerSecond = 4e6; // NOR/eMMC programming rate
    std::chrono::milliseconds otpBurn{120};
    std::chrono::milliseconds keyGeneration{250};
    std::chrono::milliseconds signature{30};
    std::chrono::milliseconds boot{400};
    bool enabled = true;

    static Timing realistic();
    static Timing none();
};

enum class FaultKind {
    DisconnectAfterBytes, // argument: N bytes received on the port, then the link drops (once)
    DisconnectAt,         // argument: command name; the link drops on receiving it (once)
    CorruptChunk,         // argument: N; the N-th flash chunk is damaged in transit (once)
    BrownoutAtCommit,     // power lost in the middle of flash-commit (once)
    Counterfeit,          // chip identity certified by a root that is not the vendor's
    OtpBurnedOther,       // OTP already burned with another key at manufacture
    RngRepeat,            // device key generation returns the same key on every such device
    Garbage,              // answers every request with random bytes
    Flood,                // answers the first request, then repeats that answer without end
};

struct FaultSpec {
    int port = 0; // 0: every port
    FaultKind kind;
    QString argument;
};
// Parses "PORT:KIND[=ARG]", PORT a number or "*", e.g. "3:disconnect-at=flash-commit".
Result<FaultSpec> parseFaultSpec(const QString& text);
// The kebab-case name used in fault specs ("corrupt-chunk"), and a spec written back as text.
QString faultKindName(FaultKind kind);
QString faultSpecText(const FaultSpec& spec);

struct SimOptions {
    int ports = 4;
    QString stateDir;  // required: device state survives restarts here
    QString socketDir; // empty: keyline::flashing::defaultSimSocketDir()
    Timing timing = Timing::realistic();
    QList<FaultSpec> faults;
    // Devices fed into each port over the run: when a locked device's connection closes, the
    // next fresh device is "plugged in". 1 = one device per port, never replaced.
    int devicesPerPort = 1;
    // Largest flash-chunk data each device accepts (identify's max_chunk).
    int maxChunk = 256 * 1024;
    // How long a port stays empty while one device is swapped for the next, so that a station
    // watching the socket directory sees the removal and the arrival as two events.
    std::chrono::milliseconds replugDelay{250};
    // PEM (or DER) file with the vendor keystore signing public key the devices verify
    // keystores against (keyline's export/keystore-signing.pub.pem). Empty: the devices have
    // no vendor key and keystore-write answers keystore-rejected.
    QString vendorKeystoreKeyPath;
    // How device state is written: Host also survives the host losing power (fsync), Process
    // only a killed simulator. Benchmarks use Process so that the devices take no time.
    Durability stateDurability = Durability::Host;
    // Makes every device each port will receive in load(), before serving, instead of each one
    // as it is plugged in. A real line receives chips whose identity the silicon vendor made
    // long before; benchmarks use this so that the virtual fab's key generation and chip
    // certificate are not counted as the line's time. Costs start-up time and a directory per
    // device; devices made but never plugged in are left unused in the state directory.
    bool premanufacture = false;
};

// One connection's byte stream to the device currently in a port. Transport-agnostic: the
// socket server and the umockdev USB harness both push received bytes in and send out what
// comes back.
class PortSession {
public:
    virtual ~PortSession() = default;
    struct Output {
        QByteArray bytes;        // to send to the station, in order
        bool disconnect = false; // the link drops after sending `bytes` (fault or reset)
        // The flood fault: sent again and again after `bytes` until the station closes the
        // link (socket transport only; written as the socket takes it, never buffered).
        QByteArray repeatForever;
    };
    virtual Output feed(const char* data, qsizetype size) = 0;

    // Zero-copy receive for transports that read into a buffer: receiveBuffer() gives room for
    // at most `size` bytes to read into, and may lower `size` to what completes the frame in
    // progress (so the next read starts on a frame boundary); then received(n) handles the n
    // bytes read as feed() would. The defaults go through feed().
    // Inline, so that code using only this interface (the USB harness) needs no keyline::sim.
    virtual char* receiveBuffer(qsizetype& size) {
        m_receiveScratch.resize(size);
        return m_receiveScratch.data();
    }
    virtual Output received(qsizetype size) { return feed(m_receiveScratch.constData(), size); }

private:
    QByteArray m_receiveScratch;
};

class Simulator {
public:
    explicit Simulator(SimOptions options);
    ~Simulator();

    // Creates or reloads the state directory: vendor CA, devices, port assignments.
    Result<void> load();
    const SimOptions& options() const;
    // PEM of the simulated silicon vendor root; the station's trust config points at it.
    QString vendorRootPath() const;

    bool occupied(int port) const;
    // When the next device plugs into an empty port; nothing when the port is occupied or no
    // device will come.
    std::optional<std::chrono::steady_clock::time_point> nextPlugIn(int port) const;
    // A session with the device in `port` (1-based), or nullptr if the port is empty.
    // Sessions must be destroyed before the Simulator; destroying one is the link dropping.
    std::unique_ptr<PortSession> openSession(int port);

    // Serves each occupied port on a Unix socket "port-NN.sock" in the socket directory,
    // removing the file while the port is empty; runs until stop().
    Result<void> serveSockets();
    void stop();

    // Extensions beyond the contract.
    // Like serveSockets() but returns once every occupied port listens; stop() ends serving.
    Result<void> startServing();
    QString socketPath(int port) const;
    // The time the devices spent working, as their Timing paces it, summed over every
    // connection that has closed: what the line would take if the station took no time at all.
    // Zero with Timing::none().
    std::chrono::microseconds deviceWorkTime() const;
    // The device plugged into a port right now, for start-up lines and tests.
    struct PortSummary {
        int port = 0;
        QByteArray chipUid;
        bool locked = false;
        int devicesSeen = 0; // devices that went through this port, this one included
    };
    std::optional<PortSummary> portSummary(int port) const;
    // Receives one line per notable event (device swapped, fault fired); never a secret.
    void setLogger(std::function<void(const QString&)> logger);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace keyline::sim
