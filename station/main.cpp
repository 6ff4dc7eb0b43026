#include "station/cli.h"

#include <QCoreApplication>
#include <cstdio>

int main(int argc, char* argv[]) {
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("keyline"));
    QCoreApplication::setApplicationVersion(QStringLiteral(KEYLINE_VERSION));
    QTextStream out(stdout);
    QTextStream err(stderr);
    keyline::station::Cli cli{out, err, {}, QStringLiteral("keyline")};
    QStringList args = QCoreApplication::arguments();
    args.removeFirst();
    int code = keyline::station::runCli(cli, args);
    out.flush();
    err.flush();
    return code;
}
