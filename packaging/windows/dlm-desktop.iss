; Inno Setup script for DLM Desktop (Windows x64). Built by packaging/windows/build.ps1 after PyInstaller:
;   iscc /DAppVersion=0.1.0 /DSourceDir=..\..\build\windows\dist\dlm-desktop packaging\windows\dlm-desktop.iss
; Per-user install by default (no administrator rights needed); the .dlm file type opens in the app.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\build\windows\dist\dlm-desktop"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\build\windows"
#endif

[Setup]
AppId={{6C1E5C0B-8E0A-4C39-9B7D-5F2D6E8A4D11}
AppName=DLM Desktop
AppVersion={#AppVersion}
AppPublisher=DLM Desktop
DefaultDirName={autopf}\DLM Desktop
DefaultGroupName=DLM Desktop
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=DLM-Desktop-{#AppVersion}-setup-x64
SetupIconFile=..\build-icons\dlm-desktop.ico
UninstallDisplayIcon={app}\dlm-desktop.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\DLM Desktop"; Filename: "{app}\dlm-desktop.exe"
Name: "{group}\Uninstall DLM Desktop"; Filename: "{uninstallexe}"
Name: "{autodesktop}\DLM Desktop"; Filename: "{app}\dlm-desktop.exe"; Tasks: desktopicon

[Registry]
; .dlm -> DLMDesktop.Document, opened with the app (per user or per machine, following the install mode).
Root: HKA; Subkey: "Software\Classes\.dlm"; ValueType: string; ValueName: ""; ValueData: "DLMDesktop.Document"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\.dlm"; ValueType: string; ValueName: "Content Type"; ValueData: "text/plain"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\DLMDesktop.Document"; ValueType: string; ValueName: ""; ValueData: "DLM document"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\DLMDesktop.Document\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\dlm-desktop.exe,0"
Root: HKA; Subkey: "Software\Classes\DLMDesktop.Document\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\dlm-desktop.exe"" ""%1"""

[Run]
Filename: "{app}\dlm-desktop.exe"; Description: "{cm:LaunchProgram,DLM Desktop}"; Flags: nowait postinstall skipifsilent
