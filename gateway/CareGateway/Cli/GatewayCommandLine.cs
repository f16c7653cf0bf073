using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;

namespace CareGateway.Cli;

/// <summary>
/// The command line of <c>care-gateway</c>: every command, and bad input (an unknown command or option, a value that
/// does not parse, a missing subcommand) turned into a person's message with "did you mean" and exit code 2.
/// </summary>
public static partial class GatewayCommandLine
{
    public const string Name = "care-gateway";

    private static readonly AsyncLocal<CliContext?> Given = new();

    /// <summary>The context given to <see cref="InvokeAsync"/>, for the command it runs (tests and pipes); null: the process's console.</summary>
    internal static CliContext? GivenContext => Given.Value;

    /// <summary>Every command of the executable.</summary>
    public static RootCommand Create()
    {
        var root = new RootCommand("care-gateway: the home safety gateway, and the technician's tool to run and check it.");

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
            Description = "The care profile: a profile file (the careProfile section alone; its sensors then come from --config), { \"careProfile\": ..., \"sensors\": [...] }, or a gateway configuration file.",
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
        var compareOption = new Option<FileInfo>("--compare")
        {
            Description = "A second profile to run over the same events: lists the alarms only one of the two raises (same type and sensor within 5 min count as one alarm).",
        };
        var svgOption = new Option<FileInfo>("--svg")
        {
            Description = "Also write an SVG timeline to this file: a lane per sensor with its active periods, a mark per alarm and near miss, a tick per day.",
        };
        var replay = new Command("replay", "Run the rules of a care profile over recorded sensor events and print the alarms it would have raised, with times and reasons, the near misses and the counts per night.")
        {
            profileOption,
            eventsOption,
            untilOption,
            compareOption,
            svgOption,
        };
        replay.SetAction((parse, _) => ReplayCommand.RunAsync(parse.GetValue(profileOption)!, parse.GetValue(eventsOption)!, parse.GetValue(untilOption), Console.Out, Console.Error, parse.GetValue(CliOptions.Config), parse.GetValue(CliOptions.Json), parse.GetValue(compareOption), parse.GetValue(svgOption)));
        root.Subcommands.Add(replay);

        // The technician's commands, each in gateway/CareGateway/Cli/.
        root.Subcommands.Add(InitCommand.Create());
        root.Subcommands.Add(SensorsCommand.Create());
        root.Subcommands.Add(ProfileCommand.Create());
        root.Subcommands.Add(SelftestCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(SimulateCommand.Create());
        foreach (var command in ExportImportCommand.Create())
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; the command and bad input (exit 2) write to <paramref name="context"/> (the process's console when null).</summary>
    public static async Task<int> InvokeAsync(string[] args, CliContext? context = null)
    {
        Given.Value = context; // flows into the command's action, and ends with this call
        var parse = Create().Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            var problems = Describe(parse);
            context ??= CliContext.FromProcess(args.Contains("--json", StringComparer.Ordinal));
            var path = CommandPath(parse.CommandResult);
            return CliOptions.Report(context, problems[0], $"Run '{path} --help' to see what it takes.", problems.Skip(1).ToList(), ExitCodes.BadInput);
        }

        // The generic host of `run` owns SIGTERM and shuts down gracefully (publishes 'offline', closes the outbox); the
        // command line's own handler would force an exit after 2 s, which a loaded Pi can need for that.
        return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    /// <summary>Each parse problem as a sentence a person reads: no type names, and "did you mean" for near misses.</summary>
    public static IReadOnlyList<string> Describe(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var problems = new List<string>();
        var command = parse.CommandResult.Command;
        var path = CommandPath(parse.CommandResult);
        foreach (var token in parse.UnmatchedTokens)
        {
            if (token.StartsWith('-'))
            {
                problems.Add($"'{path}' has no option '{token}'.{DidYouMean(token, OptionNames(parse.CommandResult))}");
            }
            else if (command.Subcommands.Count > 0)
            {
                problems.Add($"'{path}' has no command '{token}'.{DidYouMean(token, command.Subcommands.Select(c => c.Name))}");
            }
            else
            {
                problems.Add($"'{path}' does not take '{token}' here.");
            }
        }

        foreach (var error in parse.Errors)
        {
            if (parse.UnmatchedTokens.Any(t => error.Message.Contains($"'{t}'", StringComparison.Ordinal)))
            {
                continue; // said above
            }

            problems.Add(Describe(error, parse));
        }

        return problems.Count > 0 ? problems : [$"'{path}' cannot run with these arguments."];
    }

    private static string Describe(ParseError error, ParseResult parse)
    {
        switch (error.SymbolResult)
        {
            case CommandResult { Command: { Subcommands.Count: > 0, Action: null } needs } result when result == parse.CommandResult:
                return $"'{CommandPath(result)}' needs one of its commands: {string.Join(", ", needs.Subcommands.Where(c => !c.Hidden).Select(c => c.Name))}.";
            case OptionResult { Option: var option } when IsConversion(error, option.ValueType):
                return $"{ValueGiven(error)}is not a valid value for {option.Name}: use {Expected(option.ValueType)}.";
            case ArgumentResult { Parent: OptionResult { Option: var option } } when IsConversion(error, option.ValueType):
                return $"{ValueGiven(error)}is not a valid value for {option.Name}: use {Expected(option.ValueType)}.";
            case ArgumentResult { Argument: var argument } when IsConversion(error, argument.ValueType):
                return $"{ValueGiven(error)}is not a valid {argument.Name}: use {Expected(argument.ValueType)}.";
            default:
                return WithoutTypeNames(error.Message);
        }
    }

    private static bool IsConversion(ParseError error, Type type)
    {
        var inner = Nullable.GetUnderlyingType(type) ?? type;
        return type != typeof(string) && (error.Message.Contains(inner.FullName ?? inner.Name, StringComparison.Ordinal) || error.Message.Contains(type.FullName ?? type.Name, StringComparison.Ordinal));
    }

    private static string ValueGiven(ParseError error) =>
        QuotedValue().Match(error.Message) is { Success: true } m ? $"'{m.Groups[1].Value}' " : string.Empty;

    /// <summary>What a value of <paramref name="type"/> looks like, in words.</summary>
    public static string Expected(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var inner = Nullable.GetUnderlyingType(type) ?? type;
        if (inner.IsEnum)
        {
            return "one of " + string.Join(", ", Enum.GetNames(inner).Select(n => n.ToLowerInvariant()));
        }

        return inner switch
        {
            _ when inner == typeof(int) || inner == typeof(long) => "a whole number",
            _ when inner == typeof(double) || inner == typeof(decimal) => "a number",
            _ when inner == typeof(bool) => "true or false",
            _ when inner == typeof(DateTimeOffset) || inner == typeof(DateTime) => "a date and time in ISO 8601, for example 2026-03-01T07:00:00+01:00",
            _ when inner == typeof(TimeSpan) => "a duration such as 00:05:00",
            _ => "a different value",
        };
    }

    /// <summary>A last guard: a message from the parser never shows a .NET type name.</summary>
    public static string WithoutTypeNames(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return TypeName().Replace(message, "a value of the right kind");
    }

    /// <summary>" Did you mean 'x'?" for the closest candidates, or nothing when none is close.</summary>
    public static string DidYouMean(string given, IEnumerable<string> candidates)
    {
        ArgumentNullException.ThrowIfNull(given);
        ArgumentNullException.ThrowIfNull(candidates);
        var bare = given.TrimStart('-');
        var close = candidates
            .Distinct(StringComparer.Ordinal)
            .Select(c => (Name: c, Distance: Distance(bare, c.TrimStart('-'))))
            .Where(c => c.Distance <= Math.Max(2, bare.Length / 3) || (bare.Length >= 3 && c.Name.TrimStart('-').StartsWith(bare, StringComparison.OrdinalIgnoreCase)))
            .OrderBy(c => c.Distance)
            .ThenBy(c => c.Name, StringComparer.Ordinal)
            .Take(3)
            .Select(c => $"'{c.Name}'")
            .ToList();
        return close.Count == 0 ? string.Empty : $" Did you mean {string.Join(" or ", close)}?";
    }

    private static IEnumerable<string> OptionNames(CommandResult result)
    {
        yield return "--help";
        for (SymbolResult? at = result; at is not null; at = at.Parent)
        {
            if (at is CommandResult { Command: var command })
            {
                foreach (var option in command.Options.Where(o => !o.Hidden && (at == result || o.Recursive)))
                {
                    yield return option.Name;
                }
            }
        }
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? at = result; at is not null; at = at.Parent)
        {
            if (at is CommandResult { Command: var command })
            {
                names.Add(command is RootCommand ? Name : command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    private static int Distance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    current[j] = Math.Min(current[j], previous[j - 2 < 0 ? 0 : j - 2] + 1);
                }
            }

            previous = current;
        }

        return previous[b.Length];
    }

    [GeneratedRegex(@"'?\b(?:System|CareGateway|Microsoft)\.[\w.`\[\], ]+'?", RegexOptions.CultureInvariant)]
    private static partial Regex TypeName();

    [GeneratedRegex(@"'([^']*)'", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedValue();
}
