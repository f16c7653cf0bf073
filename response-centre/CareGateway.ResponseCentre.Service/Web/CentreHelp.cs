namespace CareGateway.ResponseCentre.Service.Web;

/// <summary><c>response-centre --help</c>: what the executable does, printed without starting the service; and which command runs.</summary>
public static class CentreHelp
{
    public const string Text = """
        response-centre: the response centre's service (alarm intake from the gateways' broker, the operators' console,
        the export to the patient record).

        usage:
          response-centre [run] [--Centre:SETTING=VALUE ...]
              runs the service (console on http://127.0.0.1:5080 by default)
          response-centre add-user NAME [--role operator|supervisor|admin]
              adds an operator; the password is read from stdin (at least 10 characters, not a common one)
          response-centre add-user NAME --reset-password [--role operator|supervisor|admin]
              gives an existing user a new password (and the role, when given) and ends the user's sessions
          response-centre enrol-totp NAME
              gives the user a second factor: prints, once, the otpauth:// address for an authenticator app and
              the secret; from then on the login asks for a one-time code after the password
          response-centre enrol-totp NAME --remove
              takes the second factor away again
          response-centre --help
              this text (also -h)

        Settings come from appsettings.json beside the executable, environment variables and the command line (a
        command takes them too, for example --Centre:Database:ConnectionString=...); docs/response-centre.md describes
        each.

        """;

    public static bool IsHelp(string[] args) =>
        args.Length > 0 && args[0] is "--help" or "-h" or "-?" or "help";

    /// <summary>
    /// Carries out a command (help, <c>add-user</c>, <c>enrol-totp</c>) and gives its exit code, or null with the service's arguments
    /// when the service is to run (no command, <c>run</c>, or only settings). A word that is no command exits 2.
    /// </summary>
    public static async Task<(int? ExitCode, string[] ServiceArgs)> DispatchAsync(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        if (IsHelp(args))
        {
            await stdout.WriteAsync(Text);
            return (0, []);
        }

        if (args.Length == 0)
        {
            return (null, args);
        }

        switch (args[0])
        {
            case "run":
                return (null, args[1..]);
            case "add-user":
                return (await UserCommand.RunAsync(args[1..], stdin, stdout, stderr), []);
            case "enrol-totp":
                return (await TotpCommand.RunAsync(args[1..], stdout, stderr), []);
            default:
                // Settings may come as --Key=value, --Key value, /Key value or Key=value; anything else is a mistyped command.
                if (!args[0].StartsWith('-') && !args[0].StartsWith('/') && !args[0].Contains('=', StringComparison.Ordinal))
                {
                    await stderr.WriteLineAsync($"response-centre: '{DateRange.Shorten(args[0])}' is not a command; the commands are run, add-user, enrol-totp (see response-centre --help)");
                    return (2, []);
                }

                return (null, args);
        }
    }
}
