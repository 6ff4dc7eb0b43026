#include "sim/simulator.h"

#include "flashing/socket_transport.h"
#include "sim/atomic_file.h"
#include "sim/device_session.h"
#include "sim/keystore_verifier.h"
#include "sim/shared_key_file.h"
#include "sim/silicon_vendor.h"
#include "sim/socket_server.h"

#include <QDir>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <atomic>
#include <deque>
#include <map>
#include <openssl/rand.h>

namespace keyline::sim {

namespace {

constexpr int kChipUidSize = 8;
constexpr int kMaxPorts = 999; // socket names have two or three digits

QString portLabel(int port) {
    return QStringLiteral("port %1").arg(port, 2, 10, QLatin1Char('0'));
}

} // namespace

// One USB port of the station and the device plugged into it (null while it is being swapped).
struct PortSlot {
    mutable std::mutex mutex;
    std::shared_ptr<VirtualDevice> device;
    std::deque<std::shared_ptr<VirtualDevice>> made; // premanufactured, next first
    int devicesSeen = 0;
    std::optional<std::chrono::steady_clock::time_point> replugAt;
};

// Which device is in which port, persisted as ports.json.
struct PortRecord {
    QString deviceUid; // hex
    int devicesSeen = 0;
};

struct Simulator::Impl {
    SimOptions options;
    SiliconVendor vendor;
    std::unique_ptr<SharedKeyFile> sharedKey;
    firmware::PublicKey vendorKeystoreKey;   // loaded once in load(); null without --vendor-key
    std::atomic<std::int64_t> deviceWork{0}; // µs charged by closed sessions (Timing)
    std::map<int, std::unique_ptr<PortSlot>> slots;
    std::mutex recordsMutex; // lock order: a slot's mutex, then this
    std::map<int, PortRecord> records;
    std::mutex logMutex;
    std::function<void(const QString&)> logger;
    std::mutex serverMutex;
    std::unique_ptr<SocketServer> server;
    bool stopRequested = false; // under serverMutex: stop() may come before serving starts
    bool loaded = false;

    QString devicesDir() const {
        return QDir(options.stateDir).filePath(QStringLiteral("devices"));
    }
    QString portsFile() const {
        return QDir(options.stateDir).filePath(QStringLiteral("ports.json"));
    }

    void log(const QString& line) {
        std::lock_guard lock(logMutex);
        if (logger)
            logger(line);
    }

    bool hasFault(int port, FaultKind kind) const {
        for (const FaultSpec& f : options.faults)
            if (f.kind == kind && (f.port == 0 || f.port == port))
                return true;
        return false;
    }

    LinkFaults linkFaults(int port) const {
        LinkFaults link;
        for (const FaultSpec& f : options.faults) {
            if (f.port != 0 && f.port != port)
                continue;
            if (f.kind == FaultKind::DisconnectAfterBytes)
                link.disconnectAfterBytes = f.argument.toULongLong();
            else if (f.kind == FaultKind::DisconnectAt)
                link.disconnectAt = protocol::commandFromName(f.argument);
            else if (f.kind == FaultKind::CorruptChunk)
                link.corruptChunk = f.argument.toInt();
            else if (f.kind == FaultKind::Garbage)
                link.garbage = true;
            else if (f.kind == FaultKind::Flood)
                link.flood = true;
        }
        return link;
    }

    VirtualDevice::Config deviceConfig(int port) const {
        VirtualDevice::Config config;
        config.timing = options.timing;
        config.maxChunk = options.maxChunk;
        config.faults.rngRepeat = hasFault(port, FaultKind::RngRepeat);
        config.faults.brownoutAtCommit = hasFault(port, FaultKind::BrownoutAtCommit);
        config.sharedKey = sharedKey.get();
        config.vendorKeystoreKey = vendorKeystoreKey;
        return config;
    }

    Result<std::shared_ptr<VirtualDevice>> openDevice(int port, const QString& uidHex) {
        DeviceStore store(QDir(devicesDir()).filePath(uidHex), options.stateDurability);
        KL_TRY_ASSIGN(auto device, VirtualDevice::open(std::move(store), deviceConfig(port)));
        return std::shared_ptr<VirtualDevice>(std::move(device));
    }

    // A fresh chip from the (simulated) fab, with the manufacture-time faults of its port.
    Result<std::shared_ptr<VirtualDevice>> manufacture(int port) {
        DeviceState state;
        QString uidHex;
        do {
            state.chipUid = QByteArray(kChipUidSize, '\0');
            RAND_bytes(reinterpret_cast<unsigned char*>(state.chipUid.data()), kChipUidSize);
            uidHex = QString::fromLatin1(state.chipUid.toHex());
        } while (QDir(devicesDir()).exists(uidHex));
        KL_TRY_ASSIGN(ossl::Pkey chipKey, ossl::generateP256());
        KL_TRY_ASSIGN(state.chipKeyPem, ossl::privateKeyPem(chipKey.get()));
        state.counterfeit = hasFault(port, FaultKind::Counterfeit);
        KL_TRY_ASSIGN(state.chipCertificate,
                      vendor.issueChipCertificate(chipKey.get(), state.chipUid, state.counterfeit));
        if (hasFault(port, FaultKind::OtpBurnedOther)) {
            state.otpKey = QByteArray(32, '\0');
            RAND_bytes(reinterpret_cast<unsigned char*>(state.otpKey.data()), 32);
        }
        KL_TRY_ASSIGN(auto device,
                      VirtualDevice::manufacture(
                          DeviceStore(QDir(devicesDir()).filePath(uidHex), options.stateDurability),
                          deviceConfig(port), std::move(state), std::move(chipKey)));
        return std::shared_ptr<VirtualDevice>(std::move(device));
    }

    Result<void> saveRecord(int port, PortRecord record) {
        std::lock_guard lock(recordsMutex);
        records[port] = std::move(record);
        QJsonObject ports;
        for (const auto& [number, r] : records)
            ports.insert(QString::number(number),
                         QJsonObject{{QStringLiteral("device"), r.deviceUid},
                                     {QStringLiteral("devicesSeen"), r.devicesSeen}});
        QJsonObject root{{QStringLiteral("ports"), ports}};
        return writeFileAtomically(portsFile(), QJsonDocument(root).toJson(), false);
    }

    Result<void> loadRecords() {
        if (!QFile::exists(portsFile()))
            return success();
        KL_TRY_ASSIGN(QByteArray bytes, readWholeFile(portsFile()));
        const QJsonObject ports =
            QJsonDocument::fromJson(bytes).object().value(QLatin1String("ports")).toObject();
        for (auto it = ports.begin(); it != ports.end(); ++it) {
            const QJsonObject o = it.value().toObject();
            records[it.key().toInt()] = PortRecord{o.value(QLatin1String("device")).toString(),
                                                   o.value(QLatin1String("devicesSeen")).toInt(1)};
        }
        return success();
    }

    // Plugs a new device into `port` (slot mutex held).
    Result<void> plugNewDevice(int port, PortSlot& slot) {
        if (!slot.made.empty()) {
            slot.device = std::move(slot.made.front());
            slot.made.pop_front();
        } else {
            KL_TRY_ASSIGN(slot.device, manufacture(port));
        }
        const QString uid = QString::fromLatin1(slot.device->chipUid().toHex());
        slot.devicesSeen += 1;
        slot.replugAt.reset();
        return saveRecord(port, PortRecord{uid, slot.devicesSeen});
    }

    // The device in `port` now; a device swap that is due happens here.
    std::shared_ptr<VirtualDevice> currentDevice(int port) {
        auto it = slots.find(port);
        if (it == slots.end())
            return nullptr;
        PortSlot& slot = *it->second;
        std::lock_guard lock(slot.mutex);
        if (!slot.device && slot.replugAt && std::chrono::steady_clock::now() >= *slot.replugAt) {
            if (auto plugged = plugNewDevice(port, slot); !plugged) {
                log(QStringLiteral("%1: cannot plug in a new device: %2")
                        .arg(portLabel(port), plugged.error().toString()));
                slot.replugAt = std::chrono::steady_clock::now() + std::chrono::seconds(1);
                return nullptr;
            }
            log(QStringLiteral("%1: device %2 (factory) plugged in (%3 of %4)")
                    .arg(portLabel(port), QString::fromLatin1(slot.device->chipUid().toHex()))
                    .arg(slot.devicesSeen)
                    .arg(options.devicesPerPort));
        }
        return slot.device;
    }

    std::optional<std::chrono::steady_clock::time_point> nextPlugIn(int port) {
        auto it = slots.find(port);
        if (it == slots.end())
            return std::nullopt;
        PortSlot& slot = *it->second;
        std::lock_guard lock(slot.mutex);
        if (slot.device)
            return std::nullopt;
        return slot.replugAt;
    }

    // A connection to `device` closed: a locked device leaves the port if more are queued.
    void sessionClosed(int port, const VirtualDevice* device) {
        PortSlot& slot = *slots.at(port);
        std::lock_guard lock(slot.mutex);
        if (slot.device.get() != device || !slot.device->locked() ||
            slot.devicesSeen >= options.devicesPerPort)
            return;
        log(QStringLiteral("%1: device %2 is locked; unplugged")
                .arg(portLabel(port), QString::fromLatin1(slot.device->chipUid().toHex())));
        slot.device.reset();
        slot.replugAt = std::chrono::steady_clock::now() + options.replugDelay;
    }

    Result<void> validate() const {
        auto bad = [](const QString& why) {
            return Error(ErrorCode::InvalidArgument, why);
        };
        if (options.stateDir.isEmpty())
            return bad(QStringLiteral("a state directory is required (--state-dir)"));
        if (options.ports < 1 || options.ports > kMaxPorts)
            return bad(
                QStringLiteral("ports must be 1 … %1, not %2").arg(kMaxPorts).arg(options.ports));
        if (options.devicesPerPort < 1)
            return bad(QStringLiteral("devices per port must be at least 1"));
        if (options.maxChunk < 512 || options.maxChunk > protocol::kMaxChunkData)
            return bad(
                QStringLiteral("max chunk must be 512 … %1 bytes").arg(protocol::kMaxChunkData));
        for (const FaultSpec& f : options.faults)
            if (f.port > options.ports)
                return bad(QStringLiteral("fault %1 names port %2, but there are only %3 ports")
                               .arg(faultSpecText(f))
                               .arg(f.port)
                               .arg(options.ports));
        return success();
    }
};

Simulator::Simulator(SimOptions options)
    : m_impl(std::make_unique<Impl>()) {
    m_impl->options = std::move(options);
    if (m_impl->options.socketDir.isEmpty())
        m_impl->options.socketDir = flashing::defaultSimSocketDir();
}

Simulator::~Simulator() {
    std::unique_ptr<SocketServer> server;
    {
        std::lock_guard lock(m_impl->serverMutex);
        server = std::move(m_impl->server);
    }
    server.reset(); // stops and joins the port threads
}

Result<void> Simulator::load() {
    Impl& d = *m_impl;
    if (d.loaded)
        return success();
    KL_TRY(d.validate());
    if (!d.options.vendorKeystoreKeyPath.isEmpty()) {
        KL_TRY_ASSIGN(d.vendorKeystoreKey,
                      KeystoreVerifier::loadVendorKey(d.options.vendorKeystoreKeyPath));
    }
    if (!QDir().mkpath(d.devicesDir()))
        return Error(ErrorCode::Io, QStringLiteral("cannot create %1").arg(d.devicesDir()));
    KL_TRY(d.vendor.loadOrCreate(d.options.stateDir));
    d.sharedKey = std::make_unique<SharedKeyFile>(
        QDir(d.options.stateDir).filePath(QStringLiteral("rng-repeat-device-key.pem")));
    KL_TRY(d.loadRecords());
    for (int port = 1; port <= d.options.ports; ++port) {
        auto slot = std::make_unique<PortSlot>();
        auto known = d.records.find(port);
        if (known != d.records.end()) {
            KL_TRY_ASSIGN(slot->device,
                          d.openDevice(port, known->second.deviceUid).context(portLabel(port)));
            slot->devicesSeen = known->second.devicesSeen;
        } else {
            // Not KL_TRY(...context()): context() returns a reference into the temporary.
            if (auto plugged = d.plugNewDevice(port, *slot); !plugged)
                return plugged.error().withContext(portLabel(port));
        }
        if (d.options.premanufacture) {
            for (int i = slot->devicesSeen; i < d.options.devicesPerPort; ++i) {
                auto made = d.manufacture(port);
                if (!made)
                    return made.error().withContext(portLabel(port));
                slot->made.push_back(std::move(made).value());
            }
        }
        d.slots[port] = std::move(slot);
    }
    d.loaded = true;
    return success();
}

const SimOptions& Simulator::options() const {
    return m_impl->options;
}

QString Simulator::vendorRootPath() const {
    return QDir(m_impl->options.stateDir).filePath(QStringLiteral("silicon-vendor-root.pem"));
}

bool Simulator::occupied(int port) const {
    return m_impl->currentDevice(port) != nullptr;
}

std::optional<std::chrono::steady_clock::time_point> Simulator::nextPlugIn(int port) const {
    return m_impl->nextPlugIn(port);
}

std::unique_ptr<PortSession> Simulator::openSession(int port) {
    std::shared_ptr<VirtualDevice> device = m_impl->currentDevice(port);
    if (!device)
        return nullptr;
    const VirtualDevice* raw = device.get();
    Impl* impl = m_impl.get();
    return std::make_unique<DeviceSession>(
        port, std::move(device), impl->linkFaults(port), impl->options.timing,
        [impl](const QString& line) { impl->log(line); },
        [impl, port, raw](std::chrono::microseconds worked) {
            impl->deviceWork += worked.count();
            impl->sessionClosed(port, raw);
        });
}

std::optional<Simulator::PortSummary> Simulator::portSummary(int port) const {
    std::shared_ptr<VirtualDevice> device = m_impl->currentDevice(port);
    if (!device)
        return std::nullopt;
    PortSummary summary;
    summary.port = port;
    summary.chipUid = device->chipUid();
    summary.locked = device->locked();
    {
        std::lock_guard lock(m_impl->slots.at(port)->mutex);
        summary.devicesSeen = m_impl->slots.at(port)->devicesSeen;
    }
    return summary;
}

void Simulator::setLogger(std::function<void(const QString&)> logger) {
    std::lock_guard lock(m_impl->logMutex);
    m_impl->logger = std::move(logger);
}

std::chrono::microseconds Simulator::deviceWorkTime() const {
    return std::chrono::microseconds(m_impl->deviceWork.load());
}

QString Simulator::socketPath(int port) const {
    return QDir(m_impl->options.socketDir).filePath(flashing::simSocketFileName(port));
}

Result<void> Simulator::startServing() {
    KL_TRY(load());
    std::lock_guard lock(m_impl->serverMutex);
    if (m_impl->server)
        return Error(ErrorCode::Internal, QStringLiteral("the simulator is already serving"));
    auto server = std::make_unique<SocketServer>(
        *this, m_impl->options.socketDir,
        [impl = m_impl.get()](const QString& line) { impl->log(line); });
    KL_TRY(server->start());
    if (m_impl->stopRequested)
        server->stop();
    m_impl->server = std::move(server);
    return success();
}

Result<void> Simulator::serveSockets() {
    bool started = false;
    {
        std::lock_guard lock(m_impl->serverMutex);
        started = m_impl->server != nullptr;
    }
    if (!started) // startServing() may have been called already (the executable does)
        KL_TRY(startServing());
    m_impl->server->join();
    return success();
}

void Simulator::stop() {
    std::lock_guard lock(m_impl->serverMutex);
    m_impl->stopRequested = true;
    if (m_impl->server)
        m_impl->server->stop();
}

} // namespace keyline::sim
