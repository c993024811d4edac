# Build DLM Desktop for Windows x64: PyInstaller one-folder app, its self-test, then the Inno Setup installer.
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# Variant: set $env:DLM_CUDA = "1" to compile llama.cpp with CUDA (needs the CUDA toolkit) and install torch's
# CUDA build; the default is the CPU build. llama.cpp is compiled without -march=native (GGML_NATIVE=OFF).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$Root = Get-Location
$Build = Join-Path $Root "build\windows"
$Venv = Join-Path $Build "venv"
New-Item -ItemType Directory -Force -Path $Build | Out-Null

python -m venv $Venv
$Py = Join-Path $Venv "Scripts\python.exe"
& $Py -m pip install -q --upgrade pip
if ($env:DLM_CUDA -eq "1") {
    & $Py -m pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128
    $env:CMAKE_ARGS = "-DGGML_CUDA=ON -DGGML_NATIVE=OFF"
} else {
    & $Py -m pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    $env:CMAKE_ARGS = "-DGGML_NATIVE=OFF"
}
& $Py -m pip install -q --no-cache-dir "llama-cpp-python==0.3.36"
if ($LASTEXITCODE -ne 0) { throw "llama-cpp-python did not build" }
& $Py -m pip install -q "$Root" "pyinstaller==6.22.0"
& $Py packaging\make_icons.py
# From the build folder: `python -m` puts the current folder first on sys.path, and the analysis must import
# the installed package, not the source tree.
Push-Location $Build
& $Py -m PyInstaller --noconfirm --clean --distpath "$Build\dist" --workpath "$Build\work" "$Root\installer.spec"
$Code = $LASTEXITCODE
Pop-Location
if ($Code -ne 0) { throw "PyInstaller failed" }

# The windowed exe has no console: run the self-test and wait for its exit code.
$env:QT_QPA_PLATFORM = "offscreen"
$Test = Start-Process -FilePath "$Build\dist\dlm-desktop\dlm-desktop.exe" -ArgumentList "--self-test" -Wait -PassThru -NoNewWindow
if ($Test.ExitCode -ne 0) { throw "self-test failed with exit code $($Test.ExitCode)" }

$Version = & $Py -c "import tomllib;print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])"
$Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
& $Iscc "/DAppVersion=$Version" "/DSourceDir=$Build\dist\dlm-desktop" "/DOutputDir=$Build" packaging\windows\dlm-desktop.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
Write-Host "installer: $Build\DLM-Desktop-$Version-setup-x64.exe"
