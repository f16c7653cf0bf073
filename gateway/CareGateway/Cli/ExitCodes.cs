namespace CareGateway.Cli;

/// <summary>The exit codes of every technician command (docs/installation.md lists them too).</summary>
public static class ExitCodes
{
    /// <summary>Done, every check passed.</summary>
    public const int Ok = 0;

    /// <summary>The command ran, but a check failed (a sensor not seen, the centre not answering, ...).</summary>
    public const int CheckFailed = 1;

    /// <summary>Bad input or configuration: nothing was changed; the message says what to fix.</summary>
    public const int BadInput = 2;
}

/// <summary>A command cannot go on: <see cref="Exception.Message"/> says what is wrong, <see cref="Hint"/> what to do next.</summary>
public sealed class CliException : Exception
{
    public CliException(string message, string hint, int exitCode = ExitCodes.BadInput, IReadOnlyList<string>? details = null)
        : base(message)
    {
        Hint = hint;
        ExitCode = exitCode;
        Details = details ?? [];
    }

    public CliException()
        : this("The command failed.", "Run it again with --help.")
    {
    }

    public CliException(string message)
        : this(message, "Run the command again with --help.")
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
        Hint = "Run the command again with --help.";
        ExitCode = ExitCodes.BadInput;
        Details = [];
    }

    public string Hint { get; }

    public int ExitCode { get; }

    /// <summary>Each problem on its own line (for example configuration errors with their JSON paths).</summary>
    public IReadOnlyList<string> Details { get; }
}
