#pragma once

// Devices of an order. A device ID is allocated once per chip and never reused:
// "<order-id>-<5-digit sequence>", e.g. "PO-2024-17-00042", sequences counting from 00001 in
// each order. A chip keeps its ID for life (re-plugging after a power cut finds it again), so
// its certificate, key and step history stay attached to one ID.

#include "common/result.h"

#include <QString>
#include <optional>
#include <vector>

namespace keyline::db {

class Database;

enum class DeviceState { Allocated, InProgress, Provisioned, Failed };
QString deviceStateName(DeviceState state); // "allocated", "in_progress", "provisioned", "failed"
Result<DeviceState> parseDeviceState(const QString& text);

struct Device {
    QString id;
    QString orderId;
    int seq = 0;
    QString chipUid;
    QString slot; // the station port the device was last seen on
    DeviceState state = DeviceState::Allocated;
    QString failureReason; // empty unless failed or scrapped
    bool scrapped = false; // taken off the line for good; never provisioned again
    QString createdAt;
    QString updatedAt;
};

class DeviceRepository {
public:
    explicit DeviceRepository(Database& db)
        : m_db(db) {}

    static QString formatDeviceId(const QString& orderId, int seq);

    // The device for `chipUid` in `orderId`: the one it already has (its slot updated), or a
    // newly allocated one. Refused: ChipInOtherOrder, OrderClosed, DeviceIdsExhausted;
    // NotFound for an unknown order.
    Result<Device> ensureForChip(const QString& orderId, const QString& chipUid,
                                 const QString& slot);

    Result<Device> find(const QString& deviceId); // NotFound
    Result<std::optional<Device>> findByChipUid(const QString& chipUid);
    Result<std::vector<Device>> listForOrder(const QString& orderId); // by sequence

    // Any state but Failed clears the failure reason; Failed needs markFailed.
    Result<void> setState(const QString& deviceId, DeviceState state);
    Result<void> markFailed(const QString& deviceId, const QString& reason);
    // Failed and scrapped: the reason says why it left the line.
    Result<void> scrap(const QString& deviceId, const QString& reason);

private:
    Result<void> update(const QString& deviceId, DeviceState state, const QString& reason,
                        bool scrap);

    Database& m_db;
};

} // namespace keyline::db
