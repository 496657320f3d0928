; Inno Setup script for Maskwright (https://jrsoftware.org/isinfo.php).
; installers/build_bundle.py compiles it when iscc is on PATH:
;   iscc /DAppVersion=0.1.0 /DBundleDir=dist\Maskwright /DOutputDir=dist /DIconFile=build\icons\maskwright.ico maskwright.iss
; It installs the PyInstaller one-folder bundle per user (no admin rights needed), adds a
; Start-menu entry, associates *.maskwright project files, and adds "Open with Maskwright"
; to folders' context menu (a project is a folder of images).

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  #define BundleDir "..\..\dist\Maskwright"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef IconFile
  #define IconFile "..\..\build\icons\maskwright.ico"
#endif

[Setup]
AppId={{6C1E4F0B-7A52-4C8E-9E51-4D8A3B2F9A10}
AppName=Maskwright
AppVersion={#AppVersion}
AppPublisher=Maskwright
DefaultDirName={autopf}\Maskwright
DefaultGroupName=Maskwright
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename=Maskwright-{#AppVersion}-setup
SetupIconFile={#IconFile}
UninstallDisplayIcon={app}\maskwright.exe
Compression=lzma2/normal
SolidCompression=yes
ChangesAssociations=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "folderverb"; Description: "Add ""Open with Maskwright"" to folders' right-click menu"; GroupDescription: "Integration:"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Maskwright"; Filename: "{app}\maskwright.exe"
Name: "{group}\Maskwright self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\maskwright.exe"" --self-test"
Name: "{group}\{cm:UninstallProgram,Maskwright}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Maskwright"; Filename: "{app}\maskwright.exe"; Tasks: desktopicon

[Registry]
; *.maskwright project files open their folder in Maskwright.
Root: HKA; Subkey: "Software\Classes\.maskwright"; ValueType: string; ValueName: ""; ValueData: "Maskwright.Project"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Maskwright.Project"; ValueType: string; ValueName: ""; ValueData: "Maskwright project"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Maskwright.Project\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\maskwright.exe,0"
Root: HKA; Subkey: "Software\Classes\Maskwright.Project\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\maskwright.exe"" ""%1"""
; Right-click a folder of images: Open with Maskwright.
Root: HKA; Subkey: "Software\Classes\Directory\shell\Maskwright"; ValueType: string; ValueName: ""; ValueData: "Open with Maskwright"; Flags: uninsdeletekey; Tasks: folderverb
Root: HKA; Subkey: "Software\Classes\Directory\shell\Maskwright"; ValueType: string; ValueName: "Icon"; ValueData: "{app}\maskwright.exe,0"; Tasks: folderverb
Root: HKA; Subkey: "Software\Classes\Directory\shell\Maskwright\command"; ValueType: string; ValueName: ""; ValueData: """{app}\maskwright.exe"" ""%1"""; Tasks: folderverb

[Run]
Filename: "{app}\maskwright.exe"; Description: "{cm:LaunchProgram,Maskwright}"; Flags: nowait postinstall skipifsilent
