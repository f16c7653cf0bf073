using CareGateway.ResponseCentre.Service;
using CareGateway.ResponseCentre.Service.Web;

// response-centre                                  runs the service (console on http://127.0.0.1:5080 by default)
// response-centre add-user NAME --role admin       adds or updates an operator; the password comes from stdin
if (CentreHelp.IsHelp(args))
{
    Console.Out.Write(CentreHelp.Text);
    return 0;
}

if (args.Length > 0 && args[0] == "add-user")
{
    return await UserCommand.RunAsync(args[1..], Console.In, Console.Out, Console.Error);
}

var app = CentreApp.Build(args);
await app.RunAsync();
return 0;
