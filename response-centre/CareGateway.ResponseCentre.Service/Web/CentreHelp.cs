namespace CareGateway.ResponseCentre.Service.Web;

/// <summary><c>response-centre --help</c>: what the executable does, printed without starting the service.</summary>
public static class CentreHelp
{
    public const string Text = """
        response-centre: the response centre's service (alarm intake from the gateways' broker, the operators' console,
        the export to the patient record).

        usage:
          response-centre [--Centre:SETTING=VALUE ...]         runs the service (console on http://127.0.0.1:5080 by default)
          response-centre add-user NAME [--role operator|admin] adds an operator; the password is read from stdin
          response-centre --help                                this text

        Settings come from appsettings.json beside the executable, environment variables and the command line;
        docs/response-centre.md describes each.

        """;

    public static bool IsHelp(string[] args) =>
        args.Length > 0 && args[0] is "--help" or "-h" or "-?" or "help";
}
