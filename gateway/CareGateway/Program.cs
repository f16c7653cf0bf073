using CareGateway;
using CareGateway.Cli;

StartupTrace.Mark("main entered");
return await GatewayCommandLine.InvokeAsync(args);
