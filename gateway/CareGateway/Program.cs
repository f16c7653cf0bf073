using System.CommandLine;
using CareGateway;

var root = new RootCommand("care-gateway: the home safety gateway, and the technician's tool to run and check it.");

var demo = new Command("demo", "Run the whole chain in one process on embedded defaults: broker, simulated board, gateway, response centre.");
demo.SetAction((_, ct) => DemoCommand.RunAsync(Console.Out, ct));
root.Subcommands.Add(demo);

var configOption = new Option<FileInfo>("--config", "-c")
{
    Description = "The gateway's configuration file (JSON; see docs/configuration.md).",
    Required = true,
};
var run = new Command("run", "Run the gateway against the broker named in the configuration until stopped (SIGTERM stops it cleanly).")
{
    configOption,
};
run.SetAction((parse, ct) => RunCommand.RunAsync(parse.GetValue(configOption)!, ct));
root.Subcommands.Add(run);

var schema = new Command("config-schema", "Print the JSON Schema of the configuration file.");
schema.SetAction(_ => Console.Out.Write(ConfigSchema.Generate()));
root.Subcommands.Add(schema);

return await root.Parse(args).InvokeAsync();
