#pragma once

// The order file a factory's ERP hands the station (`keyline order import`, docs/order-file.md):
// pure parsing, bytes in and order specs out, no HSM, database or file access, so that a fuzzer
// (tests/fuzz/fuzz_order_file.cpp) reaches every path of it.

#include "common/result.h"
#include "firmware_image/keystore.h"

#include <QByteArray>
#include <QList>
#include <QString>
#include <optional>

namespace keyline::station {

inline constexpr char kOrderFileFormat[] = "keyline-order/1";
// A larger file is refused before it is read (ERP exports of a day's orders are a few KiB).
inline constexpr qint64 kMaxOrderFileBytes = 1024 * 1024;
inline constexpr int kMaxOrdersPerFile = 1000;
inline constexpr int kMaxOrderQuantity = 99999;
inline constexpr int kMaxOrderPathLength = 4096;

// One order as `order create` takes it from options and the order file from JSON.
struct OrderSpec {
    QString id;
    QString customerId;
    firmware::Environment environment = firmware::Environment::Development;
    int quantity = 0;
    QString packagePath; // the file's orders: absolute, resolved against the file's folder
    QString keystorePath;

    bool operator==(const OrderSpec& o) const {
        return id == o.id && customerId == o.customerId && environment == o.environment &&
               quantity == o.quantity && packagePath == o.packagePath &&
               keystorePath == o.keystorePath;
    }
};

// What is wrong with an order's own fields (id syntax, customer ID, quantity range), the rules
// `order create` and the order file share: the field's name and the problem, or nullopt.
struct FieldProblem {
    QString field;   // "id", "customer", "quantity"
    QString problem; // "must be a whole number from 1 to 99999, not '0'"
};
std::optional<FieldProblem> checkOrderFields(const OrderSpec& spec);

// Parses an order file. Relative package and keystore paths are resolved against `baseDir`.
// BadInput (exit 2) naming the order ("order 2 (PO-1002)") and the field; detail() is the
// order's 1-based position, 0 for a problem of the file as a whole. All or nothing: one bad
// order fails the file.
Result<QList<OrderSpec>> parseOrderFile(const QByteArray& bytes, const QString& baseDir);

// The file that parses back to `orders` (paths as given): tests and the fuzzer's round trip.
QByteArray encodeOrderFile(const QList<OrderSpec>& orders);

} // namespace keyline::station
