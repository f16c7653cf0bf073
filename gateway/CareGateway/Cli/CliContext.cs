using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>
/// Where a technician command writes and reads: Spectre.Console for people (tables, progress), one JSON document on
/// <see cref="Out"/> with <c>--json</c> for scripts, and prompts only when a person is at a terminal.
/// </summary>
public sealed class CliContext
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public required IAnsiConsole Console { get; init; }

    /// <summary>Where the <c>--json</c> document goes.</summary>
    public required TextWriter Out { get; init; }

    public bool Json { get; init; }

    /// <summary>Where warnings go (standard error for the process), so that they never mix into the <c>--json</c> document.</summary>
    public TextWriter Error { get; init; } = System.Console.Error;

    /// <summary>A person at a terminal: prompts are allowed for missing values.</summary>
    public bool Interactive { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The process's own console: prompts when stdin and stdout are a terminal and no <c>--json</c>.</summary>
    public static CliContext FromProcess(bool json) => new()
    {
        Console = AnsiConsole.Console,
        Out = System.Console.Out,
        Json = json,
        Interactive = !json && !System.Console.IsInputRedirected && !System.Console.IsOutputRedirected,
    };

    /// <summary>A context that writes plain text (no colours, no prompts) to <paramref name="writer"/>, warnings to <paramref name="error"/> (default: the same writer): for tests and pipes.</summary>
    public static CliContext ForWriter(TextWriter writer, bool json = false, TimeProvider? time = null, TextWriter? error = null)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 400; // no wrapping: a message stays on one line for grep and tests
        return new CliContext { Console = console, Out = writer, Json = json, Time = time ?? TimeProvider.System, Error = error ?? writer };
    }

    /// <summary>Writes the JSON result (only with --json).</summary>
    public void WriteJson(JsonNode result)
    {
        ArgumentNullException.ThrowIfNull(result);
        Out.WriteLine(result.ToJsonString(Indented));
    }

    public static JsonArray ToJsonArray(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);

    /// <summary>A line for people (not with --json).</summary>
    public void Say(string markup)
    {
        if (!Json)
        {
            Console.MarkupLine(markup);
        }
    }

    /// <summary>Asks for a missing value at a terminal, or fails with a hint naming the flag that gives it.</summary>
    public string Ask(string question, string flag, bool secret = false)
    {
        if (!Interactive)
        {
            throw new CliException($"{question} is missing.", $"Give it with {flag}.");
        }

        var prompt = new TextPrompt<string>(Markup.Escape(question) + ":");
        if (secret)
        {
            prompt = prompt.Secret();
        }

        return Console.Prompt(prompt);
    }
}
