using CareGateway.ResponseCentre.Service;
using CareGateway.ResponseCentre.Service.Web;

// response-centre [run]                            runs the service (console on http://127.0.0.1:5080 by default)
// response-centre add-user NAME --role admin       adds an operator; the password comes from stdin
// response-centre enrol-totp NAME [--remove]       gives a user a second factor (TOTP), or takes it away
// response-centre --help                           the commands (CentreHelp.Text)
var (exitCode, serviceArgs) = await CentreHelp.DispatchAsync(args, Console.In, Console.Out, Console.Error);
if (exitCode is { } code)
{
    return code;
}

var app = CentreApp.Build(serviceArgs);
await app.RunAsync();
return 0;
