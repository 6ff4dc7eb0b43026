#pragma once

// What every benchmark needs: stop with a message when a set-up step fails, and a SoftHSM2
// development token of its own in a temp dir (hsm/dev_token.h, as `keyline hsm init-dev`).

#include "hsm/dev_token.h"
#include "hsm/pkcs11_hsm.h"

#include <QCoreApplication>
#include <QString>
#include <cstdio>
#include <cstdlib>

namespace keyline::bench {

inline const QString kSoftHsmModule = QStringLiteral("/usr/lib/softhsm/libsofthsm2.so");
inline const QByteArray kBenchPin = QByteArrayLiteral("bench-pin-1234");

[[noreturn]] inline void die(const QString& what) {
    std::fprintf(stderr, "%s: %s\n", qPrintable(QCoreApplication::applicationName()),
                 qPrintable(what));
    std::exit(1);
}

template <typename T>
T need(Result<T> r, const char* what) {
    if (!r.ok())
        die(QString::fromLatin1(what) + QStringLiteral(": ") + r.error().toString());
    return std::move(r).value();
}

inline void need(Result<void> r, const char* what) {
    if (!r.ok())
        die(QString::fromLatin1(what) + QStringLiteral(": ") + r.error().toString());
}

// One row of the table scripts/bench prints after every benchmark ran: the figure, its value,
// the baseline measured in the same run, their ratio and the goal. A tab-separated line that
// starts with "@row", so the script can pick the rows out of each benchmark's own output.
// `goal` "report" means there is no goal: the figure is only reported; `baseline` empty: none.
inline void summaryRow(const char* figure, double value, const char* unit, const char* baseline,
                       double baselineValue, double ratio, const char* goal, bool met) {
    const bool reportOnly = QByteArray(goal) == "report";
    std::printf("@row\t%s\t%.3g %s\t", figure, value, unit);
    if (*baseline)
        std::printf("%s: %.3g %s\t%.2f\t", baseline, baselineValue, unit, ratio);
    else
        std::printf("-\t-\t");
    std::printf("%s\t%s\n", goal, reportOnly ? "-" : (met ? "MET" : "NOT MET"));
    std::fflush(stdout);
}

// The whole development key set in a token under `dataDir`, opened and logged in.
inline std::unique_ptr<hsm::Pkcs11Hsm> openDevToken(const QString& dataDir) {
    hsm::DevTokenOptions o;
    o.dataDir = dataDir;
    o.modulePath = kSoftHsmModule;
    o.userPin = kBenchPin;
    const hsm::InitDevReport report = need(hsm::initDevToken(o), "init-dev");
    hsm::HsmConfig config;
    config.modulePath = kSoftHsmModule;
    config.pin = hsm::PinSource::fixed(kBenchPin);
    config.softhsmConfig = report.softhsmConfig;
    return need(hsm::Pkcs11Hsm::open(config), "open HSM");
}

} // namespace keyline::bench
