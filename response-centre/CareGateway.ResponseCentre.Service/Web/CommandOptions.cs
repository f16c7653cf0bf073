using CareGateway.ResponseCentre.Service.Centre;
using CareGateway.ResponseCentre.Service.Storage;

namespace CareGateway.ResponseCentre.Service.Web;

/// <summary>
/// The arguments of a command such as <c>add-user NAME --role admin --Centre:Database:ConnectionString=...</c>: one
/// name, the command's own options, and settings (an option with <c>:</c> or <c>=</c>) passed on to the configuration
/// as the service reads it. An option the command does not know is an error, not a setting quietly ignored.
/// </summary>
public sealed class CommandOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private CommandOptions()
    {
    }

    /// <summary>The one argument that is not an option (the user's name); null when none was given.</summary>
    public string? Name { get; private set; }

    /// <summary>What is wrong with the arguments, as a sentence; null when nothing is.</summary>
    public string? Error { get; private set; }

    /// <summary>The settings, for <see cref="OpenStore"/>.</summary>
    public IReadOnlyList<string> ConfigArgs { get; private set; } = [];

    public string? Value(string option) => _values.GetValueOrDefault(option);

    public bool Has(string flag) => _flags.Contains(flag);

    public static CommandOptions Parse(string[] args, string[] valued, string[] flags)
    {
        var result = new CommandOptions();
        var config = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (valued.Contains(a, StringComparer.Ordinal))
            {
                if (i + 1 >= args.Length)
                {
                    result.Error ??= $"{a} needs a value";
                    continue;
                }

                result._values[a] = args[++i];
            }
            else if (flags.Contains(a, StringComparer.Ordinal))
            {
                result._flags.Add(a);
            }
            else if (a.StartsWith("--", StringComparison.Ordinal) && (a.Contains(':', StringComparison.Ordinal) || a.Contains('=', StringComparison.Ordinal)))
            {
                config.Add(a);
                if (!a.Contains('=', StringComparison.Ordinal) && i + 1 < args.Length)
                {
                    config.Add(args[++i]);
                }
            }
            else if (a.StartsWith('-'))
            {
                var known = string.Join(", ", valued.Concat(flags));
                result.Error ??= $"'{DateRange.Shorten(a)}' is not one of this command's options ({known}, or a setting such as --Centre:Database:ConnectionString=...)";
            }
            else if (result.Name is null)
            {
                result.Name = a;
            }
            else
            {
                result.Error ??= $"one name only ('{DateRange.Shorten(result.Name)}' and '{DateRange.Shorten(a)}' were given)";
            }
        }

        result.ConfigArgs = config;
        return result;
    }

    /// <summary>The store the service would open with these settings (appsettings.json, environment, command line).</summary>
    public static ICentreStore OpenStore(IEnumerable<string> configArgs)
    {
        var config = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine(configArgs.ToArray())
            .Build();
        var settings = config.GetSection("Centre").Get<CentreSettings>() ?? new CentreSettings();
        return CentreApp.CreateStore(settings.Database);
    }
}
