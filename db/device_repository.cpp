#include "db/device_repository.h"

#include "db/database.h"
#include "db/db_error.h"
#include "db/order_repository.h"
#include "db/timestamp.h"

namespace keyline::db {

namespace {

constexpr int kMaxSeq = 99999;

const QString kColumns = QStringLiteral("id, order_id, seq, chip_uid, slot, state, "
                                        "failure_reason, scrapped, created_at, updated_at");

// A QSqlQuery on its row, or a QSqlRecord copied from one.
template <typename Row>
Result<Device> deviceFromRow(const Row& q) {
    Device d;
    d.id = q.value(0).toString();
    d.orderId = q.value(1).toString();
    d.seq = q.value(2).toInt();
    d.chipUid = q.value(3).toString();
    d.slot = q.value(4).toString();
    KL_TRY_ASSIGN(d.state, parseDeviceState(q.value(5).toString()));
    d.failureReason = q.value(6).toString();
    d.scrapped = q.value(7).toInt() != 0;
    d.createdAt = q.value(8).toString();
    d.updatedAt = q.value(9).toString();
    return d;
}

} // namespace

QString deviceStateName(DeviceState state) {
    switch (state) {
    case DeviceState::Allocated:
        return QStringLiteral("allocated");
    case DeviceState::InProgress:
        return QStringLiteral("in_progress");
    case DeviceState::Provisioned:
        return QStringLiteral("provisioned");
    case DeviceState::Failed:
        return QStringLiteral("failed");
    }
    return QStringLiteral("failed");
}

Result<DeviceState> parseDeviceState(const QString& text) {
    for (DeviceState s : {DeviceState::Allocated, DeviceState::InProgress, DeviceState::Provisioned,
                          DeviceState::Failed})
        if (deviceStateName(s) == text)
            return s;
    return Error(ErrorCode::BadInput, QStringLiteral("unknown device state \"%1\"").arg(text));
}

QString DeviceRepository::formatDeviceId(const QString& orderId, int seq) {
    return QStringLiteral("%1-%2").arg(orderId).arg(seq, 5, 10, QLatin1Char('0'));
}

Result<Device> DeviceRepository::ensureForChip(const QString& orderId, const QString& chipUid,
                                               const QString& slot) {
    if (chipUid.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("no chip UID given"));
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    // Locked before MAX(seq): two stations of a line never compute the same next sequence.
    KL_TRY_ASSIGN(const Order order, OrderRepository(m_db).findForUpdate(orderId));
    KL_TRY_ASSIGN(std::optional<Device> existing, findByChipUid(chipUid));
    const QString now = timestampNow();
    if (existing) {
        if (existing->orderId != orderId)
            return refusal(DbRefusal::ChipInOtherOrder,
                           QStringLiteral("chip %1 is device %2 of order %3, not of order %4")
                               .arg(chipUid, existing->id, existing->orderId, orderId));
        if (existing->slot != slot) {
            KL_TRY(m_db.run(QStringLiteral("UPDATE devices SET slot = ?, updated_at = ? WHERE "
                                           "id = ?"),
                            {slot, now, existing->id}));
            existing->slot = slot;
            existing->updatedAt = now;
        }
        KL_TRY(tx.commit());
        return *existing;
    }
    if (order.state != OrderState::Open)
        return refusal(DbRefusal::OrderClosed,
                       QStringLiteral("order %1 is closed: it takes no more devices").arg(orderId));
    KL_TRY_ASSIGN(
        const std::optional<QSqlRecord> last,
        m_db.one(QStringLiteral("SELECT MAX(seq) FROM devices WHERE order_id = ?"), {orderId}));
    const int seq = (last ? last->value(0).toInt() : 0) + 1;
    if (seq > kMaxSeq)
        return refusal(
            DbRefusal::DeviceIdsExhausted,
            QStringLiteral("order %1 has used all %2 device IDs").arg(orderId).arg(kMaxSeq));
    Device d;
    d.id = formatDeviceId(orderId, seq);
    d.orderId = orderId;
    d.seq = seq;
    d.chipUid = chipUid;
    d.slot = slot;
    d.createdAt = now;
    d.updatedAt = now;
    KL_TRY(m_db.run(QStringLiteral("INSERT INTO devices (") + kColumns +
                        QStringLiteral(") VALUES (?, ?, ?, ?, ?, ?, '', 0, ?, ?)"),
                    {d.id, orderId, seq, chipUid, slot, deviceStateName(d.state), now, now}));
    KL_TRY(tx.commit());
    return d;
}

Result<Device> DeviceRepository::find(const QString& deviceId) {
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> row,
                  m_db.one(QStringLiteral("SELECT ") + kColumns +
                               QStringLiteral(" FROM devices WHERE id = ?"),
                           {deviceId}));
    if (!row)
        return Error(ErrorCode::NotFound, QStringLiteral("no device %1").arg(deviceId));
    return deviceFromRow(*row);
}

Result<std::optional<Device>> DeviceRepository::findByChipUid(const QString& chipUid) {
    KL_TRY_ASSIGN(const std::optional<QSqlRecord> row,
                  m_db.one(QStringLiteral("SELECT ") + kColumns +
                               QStringLiteral(" FROM devices WHERE chip_uid = ?"),
                           {chipUid}));
    if (!row)
        return std::optional<Device>();
    KL_TRY_ASSIGN(Device d, deviceFromRow(*row));
    return std::optional<Device>(std::move(d));
}

Result<std::vector<Device>> DeviceRepository::listForOrder(const QString& orderId) {
    KL_TRY_ASSIGN(QSqlQuery q,
                  m_db.exec(QStringLiteral("SELECT ") + kColumns +
                                QStringLiteral(" FROM devices WHERE order_id = ? ORDER BY seq"),
                            {orderId}));
    std::vector<Device> devices;
    while (q.next()) {
        KL_TRY_ASSIGN(Device d, deviceFromRow(q));
        devices.push_back(std::move(d));
    }
    return devices;
}

Result<void> DeviceRepository::setState(const QString& deviceId, DeviceState state) {
    if (state == DeviceState::Failed)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("a failed device needs a reason: use markFailed"));
    return update(deviceId, state, QString(), false);
}

Result<void> DeviceRepository::markFailed(const QString& deviceId, const QString& reason) {
    if (reason.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("a failure needs a reason"));
    return update(deviceId, DeviceState::Failed, reason, false);
}

Result<void> DeviceRepository::scrap(const QString& deviceId, const QString& reason) {
    if (reason.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("scrapping needs a reason"));
    return update(deviceId, DeviceState::Failed, reason, true);
}

Result<void> DeviceRepository::update(const QString& deviceId, DeviceState state,
                                      const QString& reason, bool scrap) {
    KL_TRY_ASSIGN(Transaction tx, m_db.begin());
    // One statement in the usual case (a step moves a device that exists and is not scrapped);
    // the device is read only to say why nothing changed. A scrapped device stays scrapped: the
    // flag is only ever set, and only scrap() changes a scrapped device.
    KL_TRY_ASSIGN(const int changed,
                  m_db.runCounting(QStringLiteral("UPDATE devices SET state = ?, "
                                                  "failure_reason = ?, scrapped = ?, "
                                                  "updated_at = ? WHERE id = ? AND (scrapped = 0 "
                                                  "OR ? = 1)"),
                                   {deviceStateName(state), reason, scrap ? 1 : 0, timestampNow(),
                                    deviceId, scrap ? 1 : 0}));
    if (changed == 0) {
        KL_TRY_ASSIGN(const Device device, find(deviceId)); // NotFound when there is none
        if (!device.scrapped)
            return Error(ErrorCode::Internal,
                         QStringLiteral("device %1 was not updated").arg(deviceId));
        return Error(ErrorCode::Refused,
                     QStringLiteral("device %1 was scrapped (%2); it is not provisioned again")
                         .arg(deviceId, device.failureReason));
    }
    return tx.commit();
}

} // namespace keyline::db
