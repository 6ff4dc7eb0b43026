#pragma once

// The refusals the repositories raise, as Error::detail() values under ErrorCode::Refused, so
// the engine can tell "this device's key was seen before" from "the order is full" without
// parsing messages. Values are stable: they may be logged and compared across versions.

#include "common/error.h"

namespace keyline::db {

enum class DbRefusal : int {
    DuplicatePublicKey = 1001,       // a device key already seen on another device (bad RNG?)
    CertificateAlreadyIssued = 1002, // the device has its one certificate already
    QuantityExceeded = 1003,         // the order has all the certificates its quantity allows
    OrderClosed = 1004,              // the order no longer accepts devices or certificates
    ChipInOtherOrder = 1005,         // the chip already has a device ID in another order
    DeviceNotInOrder = 1006,         // the device belongs to another order
    WrongCredentials = 1007,         // unknown or inactive operator, or wrong PIN
    AlreadyExists = 1008,            // an order or operator with that name exists
    DeviceIdsExhausted = 1009,       // the order used all 99999 device sequence numbers
    SerialReused = 1010,             // a certificate serial number is already in the ledger
};

inline Error refusal(DbRefusal why, const QString& message) {
    return Error(ErrorCode::Refused, message, int(why));
}

inline bool isRefusal(const Error& error, DbRefusal why) {
    return error.code() == ErrorCode::Refused && error.detail() == int(why);
}

} // namespace keyline::db
