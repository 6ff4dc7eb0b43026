#include "station/cli.h"

#include "station/config.h"

namespace keyline::station {

int runPackageCommand(Cli& cli, const QStringList& args); // station/package_commands.cpp

namespace {

const char* kUsage = R"(keyline — factory provisioning station for secure wearables

Usage: keyline [--config FILE] <command> [<subcommand>] [options]

Commands:
  device list                  list the ports that have a device plugged in
  device identify [--port P]   identify each device and check that its chip is genuine
  hsm init-dev                 development: SoftHSM2 token with the whole dev key and CA set
                               (idempotent)
  hsm keys [--json]            the keys on the HSM token: label, type, purpose, sensitive,
                               extractable
  hsm ceremony generate|import-cert
                               production key ceremony: key + CSR in the HSM; import the
                               certificate the offline root issued
  ca issue --csr F -o C ...    engineer tool: issue a device certificate, write the chain
  keystore build ... -o F      build a signed customer keystore (dev keys, or the customer's)
  keystore verify F            check a keystore offline: PASS, or FAIL naming the region
  package build ... -o F       build the OS + application package (OS sealed in the HSM)
  package verify F             check a package: PASS, or FAIL naming the region
  package sign-app ... -o F    customer tool: sign an application with the customer's key
  order create|list|show|close production orders: customer, environment, quantity, package
                               and keystore, checked so that dev and prod never mix
  run --order ID [--slots N]   headless production run: provisions devices as they are
                               plugged in, then prints the report (PASS/FAIL per device)
  audit export --order ID|--all -o F
                               export the audit log (or one order's), signed by the station
                               audit key in the HSM
  audit verify F [--ca ROOT]   check an audit export offline: PASS, or FAIL naming the line
  registry sync [--json]       send the pending device registrations to the back-end now
                               (--follow [--interval S]: every S seconds, as a service)
  registry list --customer C   the devices the back-end registry holds for a customer
  doctor [--json]              HSM, database, back-end, devices: what is wrong and what to do
  operator add NAME --role R   add a station account (operator, supervisor, engineer)
  operator list|set-role|disable|enable|passwd
                               list and manage accounts; every change is audited
  help                         this text; `keyline <command> --help` explains a command

Global options:
  --config FILE   configuration file (otherwise $KEYLINE_CONFIG,
                  $XDG_CONFIG_HOME/keyline/keyline.conf, /etc/keyline/keyline.conf;
                  with no file the embedded development defaults are used)
  -h, --help      show help
  --version       show the version

Exit codes:
  0  success
  1  a job ran and failed (a device failed, a check did not pass)
  2  bad usage or bad input
  3  environment not ready (HSM, database, back-end, device directory)

HSM PIN: [hsm] pin (file mode 600), else $KEYLINE_HSM_PIN, else a prompt; it is never printed.
Operator PINs: $KEYLINE_OPERATOR_PIN (yours) and $KEYLINE_NEW_OPERATOR_PIN (a new one), else
a prompt; never printed.

Examples:
  keyline-wearable-sim --ports 4 --state-dir /tmp/sim &   # virtual wearables
  keyline device list
  keyline device identify --json
  keyline hsm init-dev && keyline hsm keys
  keyline hsm ceremony generate --key issuing-ca -o issuing-ca.csr.pem
  keyline ca issue --csr d1.csr.pem --device-id d1 --customer acme-42 --env dev -o d1.pem
  keyline keystore build --customer acme-42 --env dev --serial 1 -o acme-42.ks
  keyline keystore verify acme-42.ks --json
  keyline package build --tree firmware_image/tree --os-version 12.5.1 \
      --app firmware_image/tree/app --keystore acme-42.ks --env dev -o acme-42.klpk
  keyline package verify acme-42.klpk --keystore acme-42.ks
  keyline operator add alice --role supervisor   # first account; then --as alice
  keyline audit export --order PO-17 -o audit-PO-17.jsonl
  keyline audit verify audit-PO-17.jsonl --ca device-root-ca.pem
)";

} // namespace

int Cli::fail(int exitCode, const QString& text) {
    err << program << ": error: " << text << Qt::endl;
    return exitCode;
}

int runCli(Cli& cli, QStringList args) {
    // Global options come before the command.
    while (!args.isEmpty() && args.first().startsWith(QLatin1Char('-'))) {
        QString opt = args.takeFirst();
        if (opt == QLatin1String("-h") || opt == QLatin1String("--help")) {
            cli.out << QString::fromUtf8(kUsage);
            return 0;
        }
        if (opt == QLatin1String("--version")) {
            cli.out << "keyline " << KEYLINE_VERSION << Qt::endl;
            return 0;
        }
        if (opt == QLatin1String("--config") || opt.startsWith(QLatin1String("--config="))) {
            if (opt.contains(QLatin1Char('=')))
                cli.configPath = opt.section(QLatin1Char('='), 1);
            else if (!args.isEmpty())
                cli.configPath = args.takeFirst();
            else
                return cli.fail(2, QStringLiteral("--config needs a file name"));
            continue;
        }
        return cli.fail(2, QStringLiteral("unknown option %1; see keyline --help").arg(opt));
    }
    if (args.isEmpty()) {
        cli.err << QString::fromUtf8(kUsage);
        return 2;
    }
    QString command = args.takeFirst();
    if (command == QLatin1String("help")) {
        cli.out << QString::fromUtf8(kUsage);
        return 0;
    }
    if (command == QLatin1String("device"))
        return runDeviceCommand(cli, args);
    if (command == QLatin1String("hsm"))
        return runHsmCommand(cli, args);
    if (command == QLatin1String("ca"))
        return runCaCommand(cli, args);
    if (command == QLatin1String("keystore"))
        return runKeystoreCommand(cli, args);
    if (command == QLatin1String("audit"))
        return runAuditCommand(cli, args);
    if (command == QLatin1String("operator"))
        return runOperatorCommand(cli, args);
    if (command == QLatin1String("package"))
        return runPackageCommand(cli, args);
    if (command == QLatin1String("order"))
        return runOrderCommand(cli, args);
    if (command == QLatin1String("run"))
        return runRunCommand(cli, args);
    if (command == QLatin1String("registry"))
        return runRegistryCommand(cli, args);
    if (command == QLatin1String("doctor"))
        return runDoctorCommand(cli, args);
    return cli.fail(2, QStringLiteral("unknown command \"%1\"; see keyline --help").arg(command));
}

} // namespace keyline::station
