using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>The options every command shares, and the one way a command's errors reach the technician.</summary>
public static class CliOptions
{
    public const string DefaultConfigPath = "/etc/care-gateway/gateway.json";

    /// <summary><c>--config</c>, on every command (recursive), defaulting to the installed package's file.</summary>
    public static Option<FileInfo> Config { get; } = new("--config", "-c")
    {
        Description = "The gateway's configuration file (JSON; see docs/configuration.md).",
        Recursive = true,
        DefaultValueFactory = _ => new FileInfo(DefaultConfigPath),
    };

    /// <summary><c>--json</c>: one JSON document on standard output instead of tables, for scripts.</summary>
    public static Option<bool> Json { get; } = new("--json")
    {
        Description = "Write one JSON document to standard output instead of tables (for scripts).",
        Recursive = true,
    };

    /// <summary>Runs a command: <see cref="CliException"/> and <see cref="ConfigException"/> become a clear message (or JSON) and an exit code.</summary>
    public static async Task<int> InvokeAsync(ParseResult parse, Func<CliContext, string, Task<int>> command)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(command);
        var context = GatewayCommandLine.GivenContext ?? CliContext.FromProcess(parse.GetValue(Json));
        return await InvokeAsync(context, parse.GetValue(Config)!.FullName, command);
    }

    public static async Task<int> InvokeAsync(CliContext context, string configPath, Func<CliContext, string, Task<int>> command)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(command);
        try
        {
            return await command(context, configPath);
        }
        catch (CliException ex)
        {
            return Report(context, ex.Message, ex.Hint, ex.Details, ex.ExitCode);
        }
        catch (ConfigException ex)
        {
            return Report(context, $"The configuration {configPath} is not valid.", "Fix the values named above (docs/configuration.md describes each), or run 'care-gateway init' for a new one.", ex.Errors, ExitCodes.BadInput);
        }
    }

    /// <summary>The one way an error reaches the technician: the message, each detail on its own line, then what to do (or one JSON document).</summary>
    public static int Report(CliContext context, string message, string hint, IReadOnlyList<string> details, int exitCode)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(details);
        if (context.Json)
        {
            context.WriteJson(new JsonObject
            {
                ["ok"] = false,
                ["error"] = message,
                ["hint"] = hint,
                ["details"] = CliContext.ToJsonArray(details),
                ["exitCode"] = exitCode,
            });
        }
        else
        {
            context.Console.MarkupLine($"[red]Error:[/] {Markup.Escape(message)}");
            foreach (var detail in details)
            {
                context.Console.MarkupLine($"  - {Markup.Escape(detail)}");
            }

            context.Console.MarkupLine($"[yellow]What to do:[/] {Markup.Escape(hint)}");
        }

        return exitCode;
    }
}
