using System.CommandLine;
using CareGateway;
using CareGateway.Cli;

StartupTrace.Mark("main entered");
var root = new RootCommand("care-gateway: the home safety gateway, and the technician's tool to run and check it.");

var demo = new Command("demo", "Run the whole chain in one process on embedded defaults: broker, simulated board, gateway, response centre.");
demo.SetAction((_, ct) => DemoCommand.RunAsync(Console.Out, ct));
root.Subcommands.Add(demo);

// --config (default /etc/care-gateway/gateway.json) and --json apply to every command.
var configOption = CliOptions.Config;
root.Options.Add(configOption);
root.Options.Add(CliOptions.Json);
var run = new Command("run", "Run the gateway against the broker named in the configuration until stopped (SIGTERM stops it cleanly).");
run.SetAction((parse, ct) => RunCommand.RunAsync(parse.GetValue(configOption)!, ct));
root.Subcommands.Add(run);

var schema = new Command("config-schema", "Print the JSON Schema of the configuration file.");
schema.SetAction(_ => Console.Out.Write(ConfigSchema.Generate()));
root.Subcommands.Add(schema);

var profileOption = new Option<FileInfo>("--profile", "-p")
{
    Description = "The care profile and sensors: { \"careProfile\": ..., \"sensors\": [...] }, or a gateway configuration file.",
    Required = true,
};
var eventsOption = new Option<FileInfo>("--events", "-e")
{
    Description = "The recording: normalized events as JSON lines, or a mosquitto_sub -v -F '%I %t %p' log of zigbee2mqtt (see docs/care-profile.md).",
    Required = true,
};
var untilOption = new Option<DateTimeOffset?>("--until")
{
    Description = "Let timers run until this time (ISO 8601); default: the last recorded event.",
};
var replay = new Command("replay", "Run the rules of a care profile over recorded sensor events and print the alarms it would have raised, with times and reasons.")
{
    profileOption,
    eventsOption,
    untilOption,
};
replay.SetAction((parse, _) => ReplayCommand.RunAsync(parse.GetValue(profileOption)!, parse.GetValue(eventsOption)!, parse.GetValue(untilOption), Console.Out, Console.Error));
root.Subcommands.Add(replay);

// The technician's commands, each in gateway/CareGateway/Cli/.
root.Subcommands.Add(InitCommand.Create());
root.Subcommands.Add(SensorsCommand.Create());
root.Subcommands.Add(ProfileCommand.Create());
root.Subcommands.Add(SelftestCommand.Create());
root.Subcommands.Add(StatusCommand.Create());
foreach (var command in ExportImportCommand.Create())
{
    root.Subcommands.Add(command);
}

// The generic host of `run` owns SIGTERM and shuts down gracefully (publishes 'offline', closes the outbox); the
// command line's own handler would force an exit after 2 s, which a loaded Pi can need for that.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
