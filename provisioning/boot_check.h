#pragma once

#include "flashing/commands.h"
#include "provisioning/order_plan.h"

namespace keyline::provisioning {

// What the station knows independently of the device, to hold its boot report against.
struct BootExpectation {
    QByteArray nonce;          // the fresh nonce sent with boot-report
    QByteArray chipUid;        // from the genuineness check
    QByteArray devicePoint;    // 65-byte point of the key the station certified
    QByteArray keystoreSha256; // the order's keystore
    QByteArray otpKeyCheck;    // the image key's KCV from the HSM
    const ExpectedBoot* package = nullptr;
};

// Step 7 of DESIGN.md §1: the report is signed by the device key the station certified, answers
// this nonce, comes from this chip, booted, and measured exactly the order's keystore, image key
// and package (every OS component, the application, versions and counters). The first mismatch
// is a VerificationFailed naming the field and both values.
Result<protocol::BootReport> checkBootReport(const protocol::BootReportResponse& answer,
                                             const BootExpectation& expected);

} // namespace keyline::provisioning
