// clang/LLVM libtooling in-process: the driver turns the usual command line
// into a compiler invocation, EmitObjAction produces the BPF object, and an
// AST consumer running before code generation checks each map struct's
// record layout against the C++ declaration, reporting a mismatch as an
// error diagnostic at the struct or field in the emitted source.
#include "codegen/bpf_compiler.hpp"

#include <memory>
#include <mutex>

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/RecordLayout.h>
#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Driver/Compilation.h>
#include <clang/Driver/Driver.h>
#include <clang/Driver/Job.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/MultiplexConsumer.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>

#include <fmt/format.h>

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

namespace kpr::codegen {
namespace {

void initialize_bpf_target() {
    static std::once_flag once;
    std::call_once(once, [] {
        LLVMInitializeBPFTargetInfo();
        LLVMInitializeBPFTarget();
        LLVMInitializeBPFTargetMC();
        LLVMInitializeBPFAsmPrinter();
    });
}

// Compares clang's record layout of each expected struct with the C++ one.
class LayoutCrossCheck : public clang::ASTConsumer {
  public:
    explicit LayoutCrossCheck(const std::vector<layout::LayoutDescription>& layouts)
        : layouts_(layouts) {}

    void HandleTranslationUnit(clang::ASTContext& ctx) override {
        auto& diags = ctx.getDiagnostics();
        const auto error = [&](clang::SourceLocation where, const std::string& message) {
            diags.Report(where, diags.getCustomDiagID(clang::DiagnosticsEngine::Error, "%0"))
                << message;
        };
        for (const auto& want : layouts_) {
            const clang::RecordDecl* record = find_struct(ctx, want.c_name);
            if (!record) {
                error({}, fmt::format("the emitted source defines no struct {}, which a map uses",
                                      want.c_name));
                continue;
            }
            if (record->isInvalidDecl())
                continue; // clang has reported why
            const clang::ASTRecordLayout& got = ctx.getASTRecordLayout(record);
            const auto size = static_cast<std::size_t>(got.getSize().getQuantity());
            if (size != want.size)
                error(record->getLocation(),
                      fmt::format("struct {} is {} bytes here, {} in the C++ layout "
                                  "(kpr::layout)",
                                  want.c_name, size, want.size));
            for (const clang::FieldDecl* field : record->fields()) {
                const std::string name = field->getNameAsString();
                const auto it = std::find_if(want.fields.begin(), want.fields.end(),
                                             [&](const auto& f) { return f.name == name; });
                if (it == want.fields.end()) {
                    error(field->getLocation(),
                          fmt::format("struct {} has field {}, which the C++ layout "
                                      "(kpr::layout) does not",
                                      want.c_name, name));
                    continue;
                }
                const auto offset =
                    static_cast<std::size_t>(got.getFieldOffset(field->getFieldIndex()) / 8);
                const auto field_size = static_cast<std::size_t>(
                    ctx.getTypeSizeInChars(field->getType()).getQuantity());
                if (offset != it->offset)
                    error(field->getLocation(),
                          fmt::format("field {} of struct {} is at offset {} here, {} in the "
                                      "C++ layout (kpr::layout)",
                                      name, want.c_name, offset, it->offset));
                if (field_size != it->size)
                    error(field->getLocation(),
                          fmt::format("field {} of struct {} is {} bytes here, {} in the "
                                      "C++ layout (kpr::layout)",
                                      name, want.c_name, field_size, it->size));
            }
            for (const auto& f : want.fields)
                if (std::none_of(
                        record->field_begin(), record->field_end(), [&](const clang::FieldDecl* d) {
                            return d->getName() == llvm::StringRef(f.name.data(), f.name.size());
                        }))
                    error(record->getLocation(),
                          fmt::format("struct {} lacks field {} of the C++ layout "
                                      "(kpr::layout)",
                                      want.c_name, f.name));
        }
    }

  private:
    static const clang::RecordDecl* find_struct(clang::ASTContext& ctx, std::string_view name) {
        for (const clang::Decl* d : ctx.getTranslationUnitDecl()->decls())
            if (const auto* r = llvm::dyn_cast<clang::RecordDecl>(d))
                if (r->isStruct() && r->isCompleteDefinition() &&
                    r->getName() == llvm::StringRef(name.data(), name.size()))
                    return r;
        return nullptr;
    }

    const std::vector<layout::LayoutDescription>& layouts_;
};

// After each diagnostic in the emitted file, names the template line (or
// slot) that line came from: the place to change.
class TemplateOriginNotes : public clang::DiagnosticConsumer {
  public:
    TemplateOriginNotes(std::unique_ptr<clang::DiagnosticConsumer> printer, llvm::raw_ostream& out,
                        const std::vector<std::string>& origins)
        : printer_(std::move(printer)), out_(out), origins_(origins) {}

    void BeginSourceFile(const clang::LangOptions& options,
                         const clang::Preprocessor* pp) override {
        printer_->BeginSourceFile(options, pp);
    }
    void EndSourceFile() override { printer_->EndSourceFile(); }
    void finish() override { printer_->finish(); }

    void HandleDiagnostic(clang::DiagnosticsEngine::Level level,
                          const clang::Diagnostic& info) override {
        // Not counted here (the engine counts for hasErrorOccurred): clang
        // would otherwise print "N errors generated." to stderr itself.
        printer_->HandleDiagnostic(level, info);
        if (!info.hasSourceManager() || info.getLocation().isInvalid())
            return;
        const auto& sm = info.getSourceManager();
        const auto where = sm.getFileLoc(info.getLocation());
        if (!sm.isWrittenInMainFile(where))
            return;
        const auto line = sm.getSpellingLineNumber(where);
        if (line >= 1 && line <= origins_.size() && !origins_[line - 1].empty())
            out_ << "  (line " << line << " of the emitted source comes from " << origins_[line - 1]
                 << ")\n";
    }

  private:
    std::unique_ptr<clang::DiagnosticConsumer> printer_;
    llvm::raw_ostream& out_;
    const std::vector<std::string>& origins_;
};

// Object emission with the layout check first: its errors stop code
// generation, so no object is written for a mismatched struct.
class CheckedEmitObjAction : public clang::EmitObjAction {
  public:
    explicit CheckedEmitObjAction(const std::vector<layout::LayoutDescription>& layouts)
        : layouts_(layouts) {}

  protected:
    std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance& ci,
                                                          llvm::StringRef file) override {
        std::vector<std::unique_ptr<clang::ASTConsumer>> consumers;
        consumers.push_back(std::make_unique<LayoutCrossCheck>(layouts_));
        consumers.push_back(clang::EmitObjAction::CreateASTConsumer(ci, file));
        return std::make_unique<clang::MultiplexConsumer>(std::move(consumers));
    }

  private:
    const std::vector<layout::LayoutDescription>& layouts_;
};

} // namespace

void compile_bpf_object(const CompilerSettings& settings, const CompileInput& input,
                        const std::filesystem::path& object) {
    initialize_bpf_target();
    const auto source_path = std::filesystem::absolute(input.source_path);
    const auto templates = std::filesystem::absolute(settings.templates_dir);
    // The prefix maps keep the build's own paths out of the object's BTF
    // line info, so objects are byte-identical across checkouts.
    const std::vector<std::string> command{
        "clang",
        "-target",
        "bpf",
        "-O2",
        "-g",
        "-Wall",
        "-Werror",
        "-fno-ident",
        "-fno-color-diagnostics",
        fmt::format("-ffile-prefix-map={}=.", source_path.parent_path().string()),
        fmt::format("-ffile-prefix-map={}=bpf-templates", templates.string()),
        "-fdebug-compilation-dir=.",
        "-resource-dir",
        settings.resource_dir.string(),
        "-I",
        templates.string(),
        "-idirafter",
        settings.multiarch_include.string(),
        "-c",
        source_path.string(),
        "-o",
        std::filesystem::absolute(object).string(),
    };
    std::vector<const char*> argv;
    for (const auto& a : command)
        argv.push_back(a.c_str());

    std::string diagnostics;
    llvm::raw_string_ostream diagnostics_out(diagnostics);
    llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> diag_options(new clang::DiagnosticOptions());
    diag_options->ShowColors = false;
    clang::DiagnosticsEngine driver_diags(
        llvm::IntrusiveRefCntPtr<clang::DiagnosticIDs>(new clang::DiagnosticIDs()),
        diag_options.get(), new clang::TextDiagnosticPrinter(diagnostics_out, diag_options.get()));
    clang::driver::Driver driver(argv[0], "bpf", driver_diags, "kpr-gen");
    driver.setCheckInputsExist(false);
    const std::unique_ptr<clang::driver::Compilation> compilation(driver.BuildCompilation(argv));
    if (!compilation || driver_diags.hasErrorOccurred() || compilation->getJobs().size() != 1 ||
        !llvm::isa<clang::driver::Command>(*compilation->getJobs().begin()))
        throw CompileError(fmt::format("cannot set up the BPF compile of {}:\n{}",
                                       source_path.string(), diagnostics_out.str()));
    const auto& cc1 =
        llvm::cast<clang::driver::Command>(*compilation->getJobs().begin()).getArguments();

    clang::CompilerInstance compiler;
    compiler.createDiagnostics(new TemplateOriginNotes(
        std::make_unique<clang::TextDiagnosticPrinter>(diagnostics_out, diag_options.get()),
        diagnostics_out, input.line_origins));
    if (!clang::CompilerInvocation::CreateFromArgs(compiler.getInvocation(), cc1,
                                                   compiler.getDiagnostics()))
        throw CompileError(fmt::format("cannot set up the BPF compile of {}:\n{}",
                                       source_path.string(), diagnostics_out.str()));
    compiler.getDiagnosticOpts().ShowColors = false;
    compiler.getPreprocessorOpts().addRemappedFile(
        source_path.string(),
        llvm::MemoryBuffer::getMemBufferCopy(input.source, source_path.string()).release());
    CheckedEmitObjAction action(input.layouts);
    if (!compiler.ExecuteAction(action) || compiler.getDiagnostics().hasErrorOccurred())
        throw CompileError(
            fmt::format("cannot compile {}:\n{}", source_path.string(), diagnostics_out.str()));
}

} // namespace kpr::codegen
